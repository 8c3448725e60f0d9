// Attestations of a task registered with a pack count only when their environment names the pack's digests
// (harnessSha256, and datasetSha256 = the pack's evalDataSha256), through the API (app.request()): one with other
// digests counts for nothing, neither for nor against the claim, whether it comes with the claim or later; one with the
// pack's digests verifies it, and the third party's re-check (the real engine, over this app) reaches the same
// verdicts. On PGlite and, with TEST_DATABASE_URL, PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createApp, type Api } from '../../src/api/app.ts';
import { claimIdOf } from '../../src/attest/claim.ts';
import { taskDefinitionLeafText, toTaskPack, type TaskDefinitionRecord, type TaskPack } from '../../src/attest/task-pack.ts';
import { utf8 } from '../../src/attest/bytes.ts';
import { appendLogLeaves } from '../../src/service/storage/log-append.ts';
import { replayAttestation } from '../helpers/attestations.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { recheckOverApp } from '../helpers/recheck-app.ts';
import { readState } from '../../src/recheck/state-file.ts';
import { makeTestContext, OPERATOR_TOKEN } from '../helpers/context.ts';
import { tasks } from '../../db/schema.ts';
import type { AppContext } from '../../src/service/context.ts';
import { eq } from 'drizzle-orm';
import { newKey, postJson, putBlob, sha256Hex, signedClaim, withIntake } from '../helpers/claims.ts';
import { makeGitRepo } from '../helpers/processes.ts';

const auth = { authorization: `Bearer ${OPERATOR_TOKEN}` };
const TASK = 'pinned-pack';
const VALUE = 0.5;
const SCORE_PY = 'print(\'{"metric": 0.5}\')\n';
const VAL_TXT = 'hidden evaluation text\n';

type ClaimJson = { id: string; status: string; method: string | null; reasonCode: string | null };
type ErrorJson = { error: { code: string; details?: { reason?: string } } };

describe.each(databaseKinds())('attestations against the pack pins on %s', (kind) => {
  let app: Api;
  let ctx: AppContext;
  let close: () => Promise<void>;
  let pack: TaskPack;
  let taskBody: { replay: Record<string, unknown> } & Record<string, unknown>;
  const verifier = newKey();
  const submitter = newKey();
  let n = 0;
  let repo: { dir: string; commits: string[] } | undefined;
  let bundleRef = '';
  const settled: string[] = [];

  beforeAll(async () => {
    const t = await makeTestContext(kind);
    close = t.close;
    ctx = t.ctx;
    app = createApp(t.ctx, { log: (m, e) => console.error(m, e) });
    // A real git bundle holding every commit the claims name (intake reads it: src/service/judging/bundle-lineage.ts).
    repo = await makeGitRepo(Array.from({ length: 8 }, (_, i) => ({ 'train.py': `print(${i})\n` })));
    const bundle = join(repo.dir, 'all.bundle');
    execFileSync('git', ['-C', repo.dir, 'bundle', 'create', '-q', bundle, '--all']);
    const bytes = readFileSync(bundle);
    bundleRef = `sha256:${sha256Hex(bytes)}`;
    expect((await putBlob(app, bytes)).status).toBe(201);
    expect((await putBlob(app, SCORE_PY)).status).toBe(201);
    const hidden = await app.request(`/v1/blobs/hidden/sha256:${sha256Hex(VAL_TXT)}`, { method: 'PUT', body: VAL_TXT, headers: auth });
    expect(hidden.status, await hidden.clone().text()).toBe(201);
    pack = toTaskPack({
      harness: { command: ['/usr/bin/python3', '/harness/score.py'], files: [{ path: 'score.py', sha256: sha256Hex(SCORE_PY), bytes: SCORE_PY.length }], limits: {} },
      evalData: { files: [{ path: 'val.txt', sha256: sha256Hex(VAL_TXT), bytes: VAL_TXT.length }] },
      trainData: { files: [] },
    });
    taskBody = {
      id: TASK,
      title: 'A task with a pack',
      metricName: 'val_bpb',
      direction: 'lower',
      policy: { quorum: 1, direction: 'lower', tolerance: { absolute: 0.01 }, runs: 1, seeds: [0], selfAttestation: 'allow' },
      replay: {
        train: ['/usr/bin/python3', '/input/train.py', '--seed', '{seed}'],
        outputs: [{ path: 'model.pt', maxBytes: 1000 }],
        harness: { command: pack.harness.command, limits: {} },
      },
      pack,
    };
    const res = await postJson(app, '/v1/tasks', taskBody, auth);
    expect(res.status, await res.clone().text()).toBe(201);
    const key = await postJson(app, '/v1/verifier-keys', { name: 'lab', operator: 'lab', publicKey: verifier.hex, tasks: [TASK] }, auth);
    expect(key.status, await key.clone().text()).toBe(201);
  });
  afterAll(async () => {
    await close();
    if (repo) rmSync(repo.dir, { recursive: true, force: true });
  });

  const pins = () => ({ harnessSha256: pack.harnessSha256, datasetSha256: pack.evalDataSha256 });
  function attest(c: { id: string; commit: string }, value: number, digests: { harnessSha256: string; datasetSha256: string }) {
    const base = replayAttestation(verifier, { claimId: c.id, commit: c.commit, value, now: new Date() });
    const predicate = JSON.parse(Buffer.from(base.payload, 'base64').toString('utf8')).predicate as { environment: object };
    return replayAttestation(verifier, {
      claimId: c.id,
      commit: c.commit,
      value,
      now: new Date(),
      predicate: { task: TASK, metric: 'val_bpb', environment: { ...(predicate.environment as object), ...digests } as never },
    });
  }
  async function postClaim(evidence: (c: { id: string; commit: string }) => unknown[] = () => []) {
    const commit = repo!.commits[n++]!;
    const envelope = signedClaim(submitter, { task: TASK, commit, bundle: bundleRef, metric: { name: 'val_bpb', value: VALUE }, createdAt: new Date().toISOString() });
    const id = claimIdOf(Buffer.from(envelope.payload, 'base64'));
    const items = evidence({ id, commit }).map((e) => ({ type: 'attestation', envelope: e }));
    const res = await postJson(app, '/v1/claims', withIntake({ claim: envelope, evidence: items }, submitter));
    expect(res.status, await res.clone().text()).toBeLessThan(300);
    settled.push(id);
    return { id, commit };
  }
  const read = async (id: string) => (await (await app.request(`/v1/claims/${id}`)).json()) as ClaimJson;

  it('an attestation with the pack digests verifies the claim at intake', async () => {
    const c = await postClaim((c) => [attest(c, VALUE, pins())]);
    expect(await read(c.id)).toMatchObject({ status: 'verified', method: 'attested' });
  });

  it('an attestation with other digests counts for nothing at intake: the claim waits for replay', async () => {
    const other = await postClaim((c) => [attest(c, VALUE, { ...pins(), harnessSha256: sha256Hex('another harness') })]);
    expect((await read(other.id)).status).toBe('pending');
    // Not against the claim either: a far worse result scored on other data does not reject it.
    const worse = await postClaim((c) => [attest(c, VALUE + 1, { ...pins(), datasetSha256: sha256Hex('a leaked eval set') })]);
    expect((await read(worse.id)).status).toBe('pending');
  });

  it('POST /v1/claims/{id}/attestations refuses other digests with environment_mismatch, and takes the pinned ones', async () => {
    const c = await postClaim();
    for (const digests of [{ ...pins(), harnessSha256: sha256Hex('harness') }, { ...pins(), datasetSha256: sha256Hex('dataset') }]) {
      for (const value of [VALUE, VALUE + 1]) {
        const res = await postJson(app, `/v1/claims/${c.id}/attestations`, { attestation: attest(c, value, digests) });
        const body = (await res.json()) as ErrorJson;
        expect(res.status, JSON.stringify(body)).toBe(422);
        expect(body.error).toMatchObject({ code: 'bad_attestation', details: { reason: 'environment_mismatch' } });
      }
    }
    expect((await read(c.id)).status).toBe('pending');
    const ok = await postJson(app, `/v1/claims/${c.id}/attestations`, { attestation: attest(c, VALUE, pins()) });
    expect(ok.status, await ok.clone().text()).toBe(200);
    expect(await read(c.id)).toMatchObject({ status: 'verified', method: 'attested' });
  });

  it('the re-check reaches the same verdicts with the pins from the bundle', async () => {
    const report = await recheckOverApp(app, settled);
    expect(report.ok, JSON.stringify(report, null, 1)).toBe(true);
  });

  it("a re-check of the whole task walks the log past the task's definition leaf", async () => {
    const report = await recheckOverApp(app, { taskId: TASK });
    expect(report.ok, JSON.stringify(report, null, 1)).toBe(true);
    const { definitionLogIndex } = (await (await app.request(`/v1/tasks/${TASK}`)).json()) as { definitionLogIndex: number };
    const page = (await (await app.request(`/v1/log/entries?start=${definitionLogIndex}&end=${definitionLogIndex + 1}`)).json()) as { entries: { data: string }[] };
    expect(JSON.parse(page.entries[0]!.data)).toMatchObject({ kind: 'task-definition', task: TASK, definition: { pack: { harnessSha256: pack.harnessSha256 } } });
  });

  it("pins swapped in the database, to count another harness's attestations, fail the re-check on its first visit", async () => {
    // A server that wants attestations from another harness (or a leaked eval set) counted would change the pins the
    // bundle shows. The definition leaf logged at registration says otherwise, and the re-check has no memory here.
    const forged = { ...pack, harnessSha256: sha256Hex('another harness') };
    await ctx.db.update(tasks).set({ pack: forged }).where(eq(tasks.id, TASK));
    try {
      const report = await recheckOverApp(app, settled.slice(0, 1));
      expect(report.ok).toBe(false);
      const checks = report.claims[0]!.checks;
      expect(checks.find((c) => c.id === 'task.definition')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/differs from its logged definition \(entry \d+\) in pack/) });
    } finally {
      await ctx.db.update(tasks).set({ pack }).where(eq(tasks.id, TASK));
    }
    const again = await recheckOverApp(app, settled.slice(0, 1));
    expect(again.claims[0]!.checks.find((c) => c.id === 'task.definition')?.status).toBe('pass');
  });

  it("a definition hidden by the server (as if the task predated logged definitions) fails: each verdict names its task's definition", async () => {
    const [row] = await ctx.db.select({ entry: tasks.definitionLogIndex }).from(tasks).where(eq(tasks.id, TASK));
    await ctx.db.update(tasks).set({ definitionLogIndex: null, pack: { ...pack, harnessSha256: sha256Hex('another harness') } }).where(eq(tasks.id, TASK));
    try {
      const report = await recheckOverApp(app, settled.slice(0, 1));
      expect(report.ok).toBe(false);
      expect(report.claims[0]!.checks.find((c) => c.id === 'task.definition')).toMatchObject({
        status: 'fail',
        detail: expect.stringMatching(new RegExp(`judged against the definition at log entry ${row!.entry}, but the bundle does not name task ${TASK}'s definition`)),
      });
    } finally {
      await ctx.db.update(tasks).set({ definitionLogIndex: row!.entry, pack }).where(eq(tasks.id, TASK));
    }
  });

  it('a digest already served in public cannot be hidden, and a hidden file cannot be a harness or training file', async () => {
    // The harness script was uploaded in public: hiding it now would protect nothing and break this task's pack.
    const hide = await app.request(`/v1/blobs/hidden/sha256:${sha256Hex(SCORE_PY)}`, { method: 'PUT', body: SCORE_PY, headers: auth });
    expect(hide.status).toBe(409);
    expect(await hide.json()).toMatchObject({ error: { code: 'conflict', details: { reason: 'already_public' } } });
    expect((await app.request(`/v1/blobs/sha256:${sha256Hex(SCORE_PY)}`)).status).toBe(200);
    // The hidden evaluation file named as the harness: refused, it would never be served to a worker's stage 2 as public.
    const leaky = toTaskPack({
      harness: { command: ['/usr/bin/python3', '/harness/val.txt'], files: [{ path: 'val.txt', sha256: sha256Hex(VAL_TXT), bytes: VAL_TXT.length }], limits: {} },
      evalData: pack.evalData,
      trainData: { files: [] },
    });
    const res = await postJson(app, '/v1/tasks', { ...taskBody, id: 'leaky-pack', replay: { ...taskBody.replay, harness: { command: leaky.harness.command, limits: {} } }, pack: leaky }, auth);
    expect(res.status, await res.clone().text()).toBe(422);
    expect(JSON.stringify(await res.json())).toMatch(/val\.txt: this file is hidden/);
  });

  it("a second definition of the task appended to the log fails recheck --task (task.definitions), and a bundle naming it fails against the remembered entry", async () => {
    const [row] = await ctx.db.select().from(tasks).where(eq(tasks.id, TASK));
    // A reader's earlier visit: the task's definition entry is remembered.
    const memory = { state: readState('/nonexistent/proofboard-recheck-state.json') };
    expect((await recheckOverApp(app, settled.slice(0, 1), memory)).ok).toBe(true);
    const looser = { ...(row as unknown as TaskDefinitionRecord), policy: { ...(row!.policy as object), quorum: 1, tolerance: { absolute: 1000 } } };
    // Through the service's own append: the leaf is in the signed tree, as a lying server would make it.
    const [entry] = await ctx.db.transaction((tx) => appendLogLeaves(ctx, tx, [{ data: utf8(taskDefinitionLeafText(looser, new Date().toISOString())), claimId: '' }]));
    const report = await recheckOverApp(app, { taskId: TASK });
    expect(report.ok).toBe(false);
    expect(report.log.find((c) => c.id === 'task.definitions')).toMatchObject({
      status: 'fail',
      detail: `task ${TASK} is defined 2 times in the log (entries ${row!.definitionLogIndex}, ${entry}); a task is registered once`,
    });
    // The server now points the task at the second definition: the remembered entry says otherwise.
    await ctx.db.update(tasks).set({ definitionLogIndex: entry! }).where(eq(tasks.id, TASK));
    try {
      const later = await recheckOverApp(app, settled.slice(0, 1), memory);
      expect(later.claims[0]!.checks.find((c) => c.id === 'task.definition.entry')).toMatchObject({
        status: 'fail',
        detail: expect.stringMatching(new RegExp(`names entry ${entry} for task ${TASK}'s definition, but entry ${row!.definitionLogIndex} per our visit of`)),
      });
    } finally {
      await ctx.db.update(tasks).set({ definitionLogIndex: row!.definitionLogIndex }).where(eq(tasks.id, TASK));
    }
  });
});
