// Circuits through the API, on both databases, with the real CLI against the app served over real HTTP: the operator
// registers a circuit for a second zk task (key pinned by hash, build files by digest); `proofboard prove --task`
// fetches the build outputs from the server, checks them and proves; the claim is verified by its proofs at intake.
// Registrations with a wrong pin, an unusable key, missing files or no operator token are refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { circuits } from '../../db/schema.ts';
import { createApp } from '../../src/api/app.ts';
import { claimIdOf } from '../../src/attest/claim.ts';
import { exampleTask } from '../../src/service/example-task.ts';
import { circuitArtifacts, DIGITS_CIRCUIT_ID, DIGITS_EVAL_CSV, loadExampleTask } from '../../src/zk/example-task.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { makeTestContext, OPERATOR_TOKEN } from '../helpers/context.ts';
import { serveApp } from '../helpers/http-server.ts';
import { cli, makeGitRepo, ROOT } from '../helpers/processes.ts';
import { readKeyFile } from '../../src/cli/key-file.ts';
import { signedClaim, withIntake } from '../helpers/claims.ts';

const TASK = 'digits-second';
const CIRCUIT = 'digits-second-groth16';
const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const CLI_TIMEOUT_MS = 300_000;

describe.each(databaseKinds())('a circuit registered through the API on %s', (kind) => {
  let server: { url: string; close: () => Promise<void> };
  let close: () => Promise<void> = async () => {};
  let repo: { dir: string; commits: string[] } | undefined;
  const work = mkdtempSync(join(tmpdir(), 'proofboard-circuit-e2e-'));
  const auth = { authorization: `Bearer ${OPERATOR_TOKEN}`, 'content-type': 'application/json' };
  const files = circuitArtifacts(DIGITS_CIRCUIT_ID);
  const bytes = { wasm: readFileSync(files.wasm), zkey: readFileSync(files.zkey), evalData: readFileSync(DIGITS_EVAL_CSV) };
  const vkey = readFileSync(files.vkey, 'utf8');
  let registration: Record<string, unknown>;
  let t: Awaited<ReturnType<typeof makeTestContext>>;

  beforeAll(async () => {
    t = await makeTestContext(kind);
    close = t.close;
    server = await serveApp(createApp(t.ctx, { log: (m, e) => console.error(m, e) }));
    const task = { ...exampleTask, id: TASK, title: 'Digits, second zk task', replay: null, pack: undefined, stampBaseBits: 0, auditFraction: 0, evalSetCommitment: null };
    const res = await fetch(`${server.url}/v1/tasks`, { method: 'POST', headers: auth, body: JSON.stringify(task) });
    expect(res.status, await res.clone().text()).toBe(201);
    const zk = await loadExampleTask();
    registration = {
      id: CIRCUIT,
      protocol: 'groth16',
      vkey,
      vkeySha256: sha(vkey),
      params: { evalSetCommitment: zk.evalSetCommitment, shardCommitments: zk.shardCommitments },
      build: Object.fromEntries(Object.entries(bytes).map(([k, b]) => [k, { sha256: sha(b), bytes: b.length }])),
    };
  });
  afterAll(async () => {
    await server?.close();
    await close();
    rmSync(work, { recursive: true, force: true });
    if (repo) rmSync(repo.dir, { recursive: true, force: true });
  });

  const register = (body: unknown, headers: Record<string, string> = auth) =>
    fetch(`${server.url}/v1/tasks/${TASK}/circuits`, { method: 'POST', headers, body: JSON.stringify(body) });

  it('refuses a registration without the token, with a wrong pin, an unusable key or files not uploaded', async () => {
    expect((await register(registration, { 'content-type': 'application/json' })).status).toBe(401);
    expect((await register({ ...registration, vkeySha256: sha('another key') })).status).toBe(400);
    const broken = JSON.stringify({ ...JSON.parse(vkey), IC: [] });
    expect((await register({ ...registration, vkey: broken, vkeySha256: sha(broken) })).status).toBe(400);
    const missing = await register(registration);
    const body = (await missing.json()) as { error: { code: string; details: { problems: { path: string }[] } } };
    expect(missing.status, JSON.stringify(body)).toBe(422);
    expect(body.error.code).toBe('bad_task');
    // Every file not uploaded is named (the evaluation split is stored already: the example task's pack holds it).
    expect(body.error.details.problems.map((p) => p.path).sort()).toEqual(['build.wasm', 'build.zkey']);
    // A circuit for a task with an eval-set commitment must commit to that set, not one its registrant chose.
    const other = await fetch(`${server.url}/v1/tasks/digits-mlp/circuits`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ ...registration, id: 'digits-elsewhere', params: { evalSetCommitment: '1', shardCommitments: ['1'] } }),
    });
    const refused = (await other.json()) as typeof body;
    expect(other.status, JSON.stringify(refused)).toBe(422);
    expect(refused.error.details.problems.map((p) => p.path)).toContain('params.evalSetCommitment');
  });

  it(
    'registers it; prove fetches and checks the build outputs; the claim is verified by its proofs',
    async () => {
      for (const b of Object.values(bytes)) {
        const put = await fetch(`${server.url}/v1/blobs/sha256:${sha(b)}`, { method: 'PUT', body: new Uint8Array(b) });
        expect(put.status).toBeLessThan(300);
      }
      const res = await register(registration);
      expect(res.status, await res.clone().text()).toBe(201);
      const registered = (await res.json()) as { logIndex: number };
      const leaf = (await (await fetch(`${server.url}/v1/log/entries?start=${registered.logIndex}&end=${registered.logIndex + 1}`)).json()) as { entries: { data: string }[] };
      expect(JSON.parse(leaf.entries[0]!.data)).toMatchObject({ kind: 'circuit-registration', task: TASK, circuit: CIRCUIT, vkeySha256: sha(vkey) });

      repo = await makeGitRepo([{ 'train.py': 'print(1)\n' }]);
      const commit = repo.commits[0]!;
      const keyPath = join(work, 'me.json');
      expect((await cli(['keygen', '--out', keyPath])).code).toBe(0);
      const evidencePath = join(work, 'ev.json');
      const prove = await cli([
        'prove',
        '--task',
        TASK,
        '--server',
        server.url,
        '--weights',
        join(ROOT, 'examples', 'digits', 'model.json'),
        '--commit',
        commit,
        '--key',
        keyPath,
        '--out',
        evidencePath,
      ]);
      expect(prove.code, prove.stderr).toBe(0);
      expect(prove.stderr).toContain(`correct = 56 on task ${TASK}`);
      const evidence = JSON.parse(readFileSync(evidencePath, 'utf8')) as { circuit: string };
      expect(evidence.circuit).toBe(CIRCUIT);

      const bundlePath = join(repo.dir, 'all.bundle');
      execFileSync('git', ['-C', repo.dir, 'bundle', 'create', '-q', bundlePath, '--all']);
      const bundle = readFileSync(bundlePath);
      expect((await fetch(`${server.url}/v1/blobs/sha256:${sha(bundle)}`, { method: 'PUT', body: new Uint8Array(bundle) })).status).toBeLessThan(300);
      const key = readKeyFile(keyPath);
      const submitter = { publicKey: new Uint8Array(), secretKey: key.secretKey, hex: key.publicKeyHex };
      const envelope = signedClaim(submitter, { task: TASK, commit, bundle: `sha256:${sha(bundle)}`, metric: { name: 'correct', value: 56 }, createdAt: new Date().toISOString() });
      const posted = await fetch(`${server.url}/v1/claims`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(withIntake({ claim: envelope, evidence: [evidence] }, key.secretKey)),
      });
      expect(posted.status, await posted.clone().text()).toBeLessThan(300);
      const id = claimIdOf(Buffer.from(envelope.payload, 'base64'));
      const claim = (await (await fetch(`${server.url}/v1/claims/${id}`)).json()) as { status: string; method: string | null };
      expect(claim).toMatchObject({ status: 'verified', method: 'zk' });

      // A third party re-checks it: the circuit is not pinned by the repository, but by its registration leaf, which
      // the bundle carries with its inclusion proof. Before, recheck failed every claim of such a task.
      type Report = { ok: boolean; claims: { checks: { id: string; status: string; detail: string }[] }[] };
      const recheck = async (state: string) => {
        const r = await cli(['recheck', id, '--server', server.url, '--state', join(work, state), '--json']);
        return { code: r.code, report: JSON.parse(r.stdout) as Report };
      };
      const first = await recheck('honest.json');
      expect(first.code, JSON.stringify(first.report, null, 1)).toBe(0);
      expect(first.report.claims[0]!.checks.find((c) => c.id === 'circuits.pinned')?.detail).toContain(`pinned by their registration in the log: ${CIRCUIT} (entry`);
      expect(first.report.claims[0]!.checks.find((c) => c.id === 'zk.proofs')?.detail).toContain('verifies');
      // The operator's database swaps the key (to another setup's, pinned consistently in the row) or the eval layout:
      // the logged registration says otherwise, on a first visit.
      const other = readFileSync(join(ROOT, 'circuits', 'build', 'other-key', 'other-key.vkey.json'), 'utf8');
      const edits: [string, Record<string, unknown>, RegExp][] = [
        ['key', { vkey: other, vkeySha256: sha(other) }, /key swapped/],
        ['layout', { params: { evalSetCommitment: '1', shardCommitments: ['1'] } }, /differs from its logged registration/],
      ];
      for (const [what, edit, why] of edits) {
        const [before] = await t.ctx.db.select().from(circuits).where(eq(circuits.id, CIRCUIT));
        await t.ctx.db.update(circuits).set(edit).where(eq(circuits.id, CIRCUIT));
        try {
          const r = await recheck(`${what}.json`);
          expect(r.code, what).toBe(1);
          expect(r.report.claims[0]!.checks.find((c) => c.id === 'circuits.pinned'), what).toMatchObject({ status: 'fail', detail: expect.stringMatching(why) });
        } finally {
          await t.ctx.db.update(circuits).set({ vkey: before!.vkey, vkeySha256: before!.vkeySha256, params: before!.params }).where(eq(circuits.id, CIRCUIT));
        }
      }

      // A task with no registered circuit: prove refuses before doing any work.
      const wrongTask = await cli(['prove', '--task', 'no-such-task', '--server', server.url, '--weights', join(ROOT, 'examples', 'digits', 'model.json'), '--commit', commit, '--key', keyPath]);
      expect(wrongTask.code).not.toBe(0);
    },
    CLI_TIMEOUT_MS,
  );
});
