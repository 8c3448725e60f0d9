// End to end, the verifier operators' path: the real server process and the real CLI on both databases. Two
// operators' keys are made with `proofboard verifier keygen` and trusted with `proofboard admin verifier add`; a
// claim is submitted without evidence; both operators sign and post their replay results with `proofboard attest`;
// the claim is verified by attestation and on the leaderboard. Revoking one key as compromised with
// `proofboard admin verifier revoke` sends the claim back to pending (quorum lost) and off the leaderboard.
import { afterAll, describe, expect, it } from 'vitest';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { databaseKinds } from '../helpers/databases.ts';
import { cli, makeGitRepo, serverEnv, startServer } from '../helpers/processes.ts';
import { sha256Hex } from '../helpers/claims.ts';
import { EXAMPLE_PINS } from '../helpers/attestations.ts';

// Every CLI call starts node and tsx (seconds each on a loaded 2-core machine); the flow makes about fifteen.
const CLI_HEAVY_TIMEOUT_MS = 600_000;

type ClaimJson = { id: string; status: string; method: string | null; reasonCode: string | null; verdict: { rule: string } | null };

describe.each(databaseKinds())('verifier operators through the real server and CLI on %s', (kind) => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('two operators attest a claim to verified; revoking one as compromised loses the quorum', async () => {
    const env = await serverEnv(kind, cleanups, 'proofboard-attest-e2e-');
    const dataDir = env.PROOFBOARD_DATA!;
    const server = await startServer(env);
    cleanups.push(async () => void (await server.stop()));
    // The operator token `serve` generated (mode 0600) in the data folder; no environment variable needed.
    const admin = (...args: string[]) =>
      cli(['admin', ...args, '--server', server.url, '--token-file', join(dataDir, 'secrets', 'operator-token')], { env: { PROOFBOARD_OPERATOR_TOKEN: '' } });
    const ok = (r: { code: number; stdout: string; stderr: string }) => {
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      return r.stdout;
    };

    const operators = [];
    for (const name of ['lab-a', 'lab-b']) {
      const keyPath = join(dataDir, `${name}.json`);
      const out = ok(await cli(['verifier', 'keygen', '--out', keyPath]));
      const publicKey = /public key ([0-9a-f]{64})/.exec(out)![1]!;
      const added = JSON.parse(ok(await admin('verifier', 'add', '--name', name, '--operator', name, '--public-key', publicKey, '--tasks', 'digits-mlp', '--json'))) as {
        id: string;
      };
      expect(out).toContain(`key id ${added.id}`);
      operators.push({ name, keyPath, publicKey, id: added.id });
    }
    const listed = ok(await admin('verifier', 'list'));
    for (const o of operators) expect(listed).toContain(o.id);

    // Without the operator token nothing changes.
    const wrongToken = join(dataDir, 'wrong-token');
    writeFileSync(wrongToken, 'not-the-token\n', { mode: 0o600 });
    const denied = await cli(['admin', 'verifier', 'revoke', operators[0]!.id, '--reason', 'retired', '--server', server.url, '--token-file', wrongToken]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('unauthorized');

    const submitterKey = join(dataDir, 'submitter.json');
    ok(await cli(['keygen', '--out', submitterKey]));
    const repo = await makeGitRepo([{ 'train.py': 'print(1)\n' }]);
    cleanups.push(() => rmSync(repo.dir, { recursive: true, force: true }));
    const submitted = JSON.parse(
      ok(await cli(['submit', '--server', server.url, '--task', 'digits-mlp', '--metric', '91', '--key', submitterKey, '--json'], { cwd: repo.dir })),
    ) as { id: string; status: string };
    expect(submitted.status).toBe('pending');

    const now = Date.now();
    const result = {
      runs: [{ seed: 0, value: 91 }],
      environment: {
        gpu: 'cpu',
        driver: null,
        runtimes: { node: process.versions.node },
        runnerVersion: 'proofboard-verifier/e2e',
        harnessSha256: EXAMPLE_PINS.harnessSha256,
        datasetSha256: EXAMPLE_PINS.datasetSha256,
        sandboxProfileSha256: sha256Hex('sandbox'),
      },
      startedAt: new Date(now - 120_000).toISOString(),
      finishedAt: new Date(now - 60_000).toISOString(),
    };
    const resultPath = join(dataDir, 'result.json');
    writeFileSync(resultPath, JSON.stringify(result));
    const attest = (keyPath: string) => cli(['attest', '--claim', submitted.id, '--result', resultPath, '--key', keyPath, '--server', server.url]);

    expect(ok(await attest(operators[0]!.keyPath))).toContain('status pending (1 of 2 attestations from distinct operators: waiting for 1 more)');
    // The same operator again adds nothing and is told so.
    const again = await attest(operators[0]!.keyPath);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/duplicate_(attestation|verifier)/);
    expect(ok(await attest(operators[1]!.keyPath))).toContain('status verified (attested)');

    const read = async () => (await (await fetch(`${server.url}/v1/claims/${submitted.id}`)).json()) as ClaimJson;
    const board = async () =>
      ((await (await fetch(`${server.url}/v1/tasks/digits-mlp/leaderboard`)).json()) as { entries: { claimId: string; method: string }[] }).entries;
    expect(await read()).toMatchObject({ status: 'verified', method: 'attested', verdict: { rule: 'quorum 2/2 within abs 0' } });
    expect(await board()).toEqual([expect.objectContaining({ claimId: submitted.id, method: 'attested' })]);

    const revoked = ok(await admin('verifier', 'revoke', operators[0]!.id, '--reason', 'compromised'));
    expect(revoked).toContain(`verifier key ${operators[0]!.id} revoked as compromised`);
    expect(await read()).toMatchObject({ status: 'pending', method: null, reasonCode: 'quorum_lost', verdict: { rule: 'quorum 1/2 within abs 0' } });
    expect(await board()).toEqual([]);
    expect(ok(await admin('verifier', 'list'))).toMatch(new RegExp(`${operators[0]!.id} .*revoked \\(compromised\\)`));

    // The revoked key signs nothing that counts any more.
    const refused = await attest(operators[0]!.keyPath);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('key_revoked');
  }, CLI_HEAVY_TIMEOUT_MS);

  it('registers a task from a file with proofboard admin task add', async () => {
    const token = 'e2e-operator-token-0123456789';
    const env: Record<string, string> = { ...(await serverEnv(kind, cleanups, 'proofboard-admin-e2e-')), PROOFBOARD_OPERATOR_TOKEN: token };
    const dataDir = env.PROOFBOARD_DATA!;
    const server = await startServer(env);
    cleanups.push(async () => void (await server.stop()));
    const taskPath = join(dataDir, 'task.json');
    writeFileSync(
      taskPath,
      JSON.stringify({
        id: 'tiny-speedrun',
        title: 'A tiny speedrun',
        metricName: 'val_loss',
        direction: 'lower',
        policy: { quorum: 2, direction: 'lower', tolerance: { absolute: 0.01 }, runs: 3, seeds: [1, 2, 3] },
      }),
    );
    const added = await cli(['admin', 'task', 'add', taskPath, '--server', server.url], { env: { PROOFBOARD_OPERATOR_TOKEN: token } });
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain('task tiny-speedrun registered');
    const task = (await (await fetch(`${server.url}/v1/tasks/tiny-speedrun`)).json()) as { policy: { quorum: number } };
    expect(task.policy.quorum).toBe(2);
    const twice = await cli(['admin', 'task', 'add', taskPath, '--server', server.url], { env: { PROOFBOARD_OPERATOR_TOKEN: token } });
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('task_exists');
  }, CLI_HEAVY_TIMEOUT_MS);
});
