// Attesting by hand: `proofboard verifier replay` replays a claim in the real sandbox with the task's harness and
// writes the result file, whose measured value is what the training really reaches (scored on the host, outside any
// sandbox, as an independent oracle); `proofboard attest` signs that file and the server counts it. The example task's
// evaluation data is public (examples/digits/pack/public-eval), so its files come from the public blob route by digest;
// a task whose evaluation data is hidden is refused here and skipped by `recheck --replay`, each naming why.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type Api } from '../../src/api/app.ts';
import { toTaskPack } from '../../src/attest/task-pack.ts';
import { EXAMPLE_PACK_DIR, exampleTask } from '../../src/service/example-task.ts';
import type { AppContext } from '../../src/service/context.ts';
import { main } from '../../src/cli/main.ts';
import { readResultFile } from '../../src/cli/attest-command.ts';
import { writeNewKeyFile } from '../../src/cli/key-file.ts';
import { sandboxOrSkip } from '../helpers/sandbox-gate.ts';
import { makeTestContext, OPERATOR_TOKEN } from '../helpers/context.ts';
import { newKey, postJson, putBlob, sha256Hex, signedClaim, stampedClaimBody } from '../helpers/claims.ts';
import { serveApp } from '../helpers/http-server.ts';
import { hostScore, makeDigitsRepo } from '../helpers/digits-repo.ts';

const run = await sandboxOrSkip('proofboard verifier replay');

describe.skipIf(!run)('proofboard verifier replay, then attest', () => {
  let ctx: AppContext;
  let close: () => Promise<void>;
  let server: { url: string; close: () => Promise<void> };
  const repo = makeDigitsRepo();
  const dir = mkdtempSync(join(tmpdir(), 'proofboard-hand-'));
  const keyPath = join(dir, 'verifier.json');
  let claimId = '';
  let honest = 0;
  let app: Api;
  let blobsDir = '';

  beforeAll(async () => {
    const t = await makeTestContext('pglite');
    ctx = t.ctx;
    close = t.close;
    app = createApp(ctx, { log: () => {} });
    blobsDir = join(t.dir, 'blobs');
    server = await serveApp(app);
    const key = writeNewKeyFile(keyPath);
    const trusted = await postJson(app, '/v1/verifier-keys', { name: 'Lab by hand', operator: 'lab-hand', publicKey: key.publicKeyHex, tasks: ['digits-mlp'] }, { authorization: `Bearer ${OPERATOR_TOKEN}` });
    expect(trusted.status).toBe(201);
    honest = hostScore(repo.dir);
    await putBlob(app, repo.bundle);
    const submitter = newKey();
    const env = signedClaim(submitter, { commit: repo.commit, bundle: `sha256:${sha256Hex(repo.bundle)}`, metric: { name: 'correct', value: honest }, createdAt: new Date().toISOString() });
    const res = await postJson(app, '/v1/claims', await stampedClaimBody(app, submitter, env));
    expect(res.status).toBe(202);
    claimId = ((await res.json()) as { id: string }).id;
  }, 600_000);
  afterAll(async () => {
    await server?.close();
    await close?.();
    repo.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  async function cli(args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
    const error = vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
    try {
      return { code: await main(args), stdout: out.join('\n'), stderr: err.join('\n') };
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
  }

  it('writes the result file the sandbox measured, and attest signs it into a counted attestation', { timeout: 900_000 }, async () => {
    const resultPath = join(dir, 'result.json');
    const replayed = await cli(['verifier', 'replay', '--claim', claimId, '--out', resultPath, '--server', server.url]);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(replayed.stdout).toContain(`proofboard attest --claim ${claimId} --result ${resultPath}`);
    const result = readResultFile(resultPath);
    expect(result.runs.map((r) => r.value)).toEqual([honest]);
    expect(result.environment.harnessSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(result.environment.sandboxProfileSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.parse(readFileSync(resultPath, 'utf8')).modelSha256).toMatch(/^[0-9a-f]{64}$/);

    const attested = await cli(['attest', '--claim', claimId, '--result', resultPath, '--key', keyPath, '--server', server.url]);
    expect(attested.code, attested.stderr).toBe(0);
    expect(attested.stdout).toContain('status pending (1 of 2 attestations from distinct operators: waiting for 1 more)');
    const claim = (await (await fetch(`${server.url}/v1/claims/${claimId}`)).json()) as { evidence: { kind: string }[] };
    expect(claim.evidence.map((e) => e.kind)).toEqual(['attestation']);
  });

  it('refuses a claim of a task whose evaluation data is hidden, and recheck --replay skips it, each saying why', async () => {
    const auth = { authorization: `Bearer ${OPERATOR_TOKEN}` };
    // The same task with its evaluation split hidden (other bytes than the public one: hiding is per digest).
    const csv = `${readFileSync(join(EXAMPLE_PACK_DIR, 'public-eval', 'eval.csv'), 'utf8')}\n`;
    const hidden = await app.request(`/v1/blobs/hidden/sha256:${sha256Hex(csv)}`, { method: 'PUT', body: csv, headers: auth });
    expect(hidden.status, await hidden.clone().text()).toBe(201);
    const base = exampleTask.pack!;
    const pack = toTaskPack({ harness: base.harness, evalData: { files: [{ path: 'eval.csv', sha256: sha256Hex(csv), bytes: Buffer.byteLength(csv) }] }, trainData: base.trainData });
    const task = { ...exampleTask, id: 'digits-hidden', stampBaseBits: 0, pack };
    const registered = await postJson(app, '/v1/tasks', task, auth);
    expect(registered.status, await registered.clone().text()).toBe(201);
    const submitter = newKey();
    const env = signedClaim(submitter, { task: 'digits-hidden', commit: repo.commit, bundle: `sha256:${sha256Hex(repo.bundle)}`, metric: { name: 'correct', value: honest }, createdAt: new Date().toISOString() });
    const res = await postJson(app, '/v1/claims', await stampedClaimBody(app, submitter, env));
    expect(res.status, await res.clone().text()).toBe(202);
    const id = ((await res.json()) as { id: string }).id;

    const r = await cli(['verifier', 'replay', '--claim', id, '--out', join(dir, 'hidden.json'), '--server', server.url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/task digits-hidden keeps its evaluation data hidden: only a worker holding a lease on one of its jobs can replay it; run `proofboard verifier --once`/);
    const re = await cli(['recheck', id, '--server', server.url, '--state', join(dir, 'state.json'), '--replay', '--json']);
    const report = JSON.parse(re.stdout) as { claims: { checks: { id: string; status: string; detail: string }[] }[] };
    expect(report.claims[0]!.checks.find((c) => c.id === 'replay')).toMatchObject({ status: 'skip', detail: expect.stringMatching(/keeps its evaluation data hidden/) });
  });

  it('a server that serves a pack file with other bytes than its pin gets no replay: recheck --replay fails, saying so', async () => {
    // The harness that scores every claim, swapped on the server's disk for one that scores anything as the best.
    const harness = exampleTask.pack!.harness.files[0]!;
    const stored = join(blobsDir, 'sha256', harness.sha256.slice(0, 2), harness.sha256);
    const original = readFileSync(stored);
    chmodSync(stored, 0o644);
    writeFileSync(stored, 'print(\'{"metric": 64}\')\n');
    try {
      const re = await cli(['recheck', claimId, '--server', server.url, '--state', join(dir, 'swapped.json'), '--replay', '--json']);
      const report = JSON.parse(re.stdout) as { claims: { checks: { id: string; status: string; detail: string }[] }[] };
      expect(report.claims[0]!.checks.find((c) => c.id === 'replay')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/the replay could not run: .*evaluate\.py/) });
      expect(re.code).toBe(1);
    } finally {
      writeFileSync(stored, original);
    }
  });

  it('refuses a claim it cannot replay, naming why', async () => {
    const r = await cli(['verifier', 'replay', '--claim', 'f'.repeat(64), '--out', join(dir, 'x.json'), '--server', server.url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown_claim');
    expect((await cli(['verifier', 'replay', '--claim', 'nope', '--out', 'x'])).code).toBe(2);
  });
});
