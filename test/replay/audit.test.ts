// Audits: cheaply verified claims are replayed anyway at a task's rate, chosen by a keyed draw. A contradiction marks
// the entry disputed, takes it off the leaderboard, and counts against the submitter and the attesting verifiers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { createApp, type Api } from '../../src/api/app.ts';
import type { AppContext } from '../../src/service/context.ts';
import { submitterKeys, verifierKeys } from '../../db/schema.ts';
import { auditDraw } from '../../src/service/storage/audits.ts';
import { buildReplayStatement, signAttestation } from '../../src/attest/statement.ts';
import { claimIdOf } from '../../src/attest/claim.ts';
import { runWorker } from '../../src/replay/worker.ts';
import { sandboxOrSkip } from '../helpers/sandbox-gate.ts';
import { exampleTask } from '../../src/service/example-task.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { makeTestContext, OPERATOR_TOKEN } from '../helpers/context.ts';
import { newKey, postJson, putBlob, sha256Hex, signedClaim, withIntake, type TestKey } from '../helpers/claims.ts';
import { serveApp } from '../helpers/http-server.ts';
import { hostScore, makeDigitsRepo } from '../helpers/digits-repo.ts';
import { EXAMPLE_PINS } from '../helpers/attestations.ts';

const auth = { authorization: `Bearer ${OPERATOR_TOKEN}` };

describe('the audit draw', () => {
  it('is uniform, and a different key makes different choices', () => {
    const a = new Uint8Array(32).fill(1);
    const b = new Uint8Array(32).fill(2);
    const ids = Array.from({ length: 4000 }, (_, i) => sha256Hex(`claim ${i}`));
    const draws = ids.map((id) => auditDraw(a, id));
    const mean = draws.reduce((s, x) => s + x, 0) / draws.length;
    // Mean of 4000 uniforms: standard deviation 0.0046; 0.03 is over six of them.
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.03);
    const chosenA = ids.filter((id) => auditDraw(a, id) < 0.1);
    const chosenB = ids.filter((id) => auditDraw(b, id) < 0.1);
    expect(chosenA.length).toBeGreaterThan(300);
    expect(chosenA.length).toBeLessThan(500);
    const overlap = chosenA.filter((id) => chosenB.includes(id)).length;
    expect(overlap).toBeLessThan(chosenA.length / 2);
  });
});

const sandboxReady = await sandboxOrSkip('audit replay tests');

describe.skipIf(!sandboxReady).each(databaseKinds())('audit replays on %s', (kind) => {
  let ctx: AppContext;
  let app: Api;
  let server: { url: string; close: () => Promise<void> };
  let close: () => Promise<void>;
  const worker = newKey();
  const alice = newKey();
  const bob = newKey();
  const submitter = newKey();
  const repo = makeDigitsRepo();
  let real = 0;

  beforeAll(async () => {
    const t = await makeTestContext(kind);
    ctx = t.ctx;
    close = t.close;
    app = createApp(ctx, { log: (m, e) => console.error(m, e) });
    server = await serveApp(app);
    const task = { ...exampleTask, id: 'digits-audited', auditFraction: 1, stampBaseBits: 0, evalSetCommitment: null };
    expect((await postJson(app, '/v1/tasks', task, auth)).status).toBe(201);
    for (const [name, k] of [['worker', worker], ['alice', alice], ['bob', bob]] as const) {
      expect((await postJson(app, '/v1/verifier-keys', { name, operator: name, publicKey: k.hex, tasks: ['digits-audited'] }, auth)).status).toBe(201);
    }
    await putBlob(app, repo.bundle);
    real = hostScore(repo.dir);
  });
  afterAll(async () => {
    await server?.close();
    await close?.();
    repo.cleanup();
  });

  function attestation(key: TestKey, claimId: string, value: number) {
    const now = new Date().toISOString();
    const statement = buildReplayStatement({
      commit: repo.commit,
      predicate: {
        task: 'digits-audited',
        claimId,
        metric: 'correct',
        runs: [{ seed: 0, value }],
        environment: { gpu: 'cpu', driver: null, runtimes: {}, runnerVersion: 'test', harnessSha256: EXAMPLE_PINS.harnessSha256, datasetSha256: EXAMPLE_PINS.datasetSha256, sandboxProfileSha256: 'c'.repeat(64) },
        startedAt: now,
        finishedAt: now,
      },
    });
    return { type: 'attestation', envelope: signAttestation(statement, key.secretKey, key.hex) };
  }

  async function attestedClaim(value: number, createdAt: string) {
    const env = signedClaim(submitter, { task: 'digits-audited', commit: repo.commit, bundle: `sha256:${sha256Hex(repo.bundle)}`, metric: { name: 'correct', value }, createdAt });
    const id = claimIdOf(Buffer.from(env.payload, 'base64'));
    const res = await postJson(app, '/v1/claims', withIntake({ claim: env, evidence: [attestation(alice, id, value), attestation(bob, id, value)] }));
    const body = (await res.json()) as { id: string; status: string; verdict: { method: string } | null };
    expect(body.status, JSON.stringify(body)).toBe('verified');
    expect(body.verdict?.method).toBe('attested');
    return id;
  }
  const claimJson = async (id: string) => (await (await app.request(`/v1/claims/${id}`)).json()) as { status: string; reasonCode: string | null; replay: { kind: string; state: string }[] };
  const board = async () => ((await (await app.request('/v1/tasks/digits-audited/leaderboard')).json()) as { entries: { claimId: string }[] }).entries.map((e) => e.claimId);

  it('disputes a claim two colluding verifiers attested falsely, and keeps an honest one', async () => {
    const honest = await attestedClaim(real, '2026-11-27T10:00:00.000Z');
    const inflated = await attestedClaim(real + 5, '2026-11-27T10:00:01.000Z');
    expect((await claimJson(inflated)).replay).toEqual([expect.objectContaining({ kind: 'audit', state: 'queued' })]);
    expect(await board()).toEqual([inflated, honest]);

    const { jobs } = await runWorker({ server: server.url, secretKey: worker.secretKey, once: true, log: () => {} });
    expect(jobs).toBe(2);
    expect(await claimJson(honest)).toMatchObject({ status: 'verified' });
    expect(await claimJson(inflated)).toMatchObject({ status: 'disputed', reasonCode: 'audit_contradicts' });
    expect(await board()).toEqual([honest]);

    const [s] = await ctx.db.select().from(submitterKeys).where(eq(submitterKeys.publicKey, submitter.hex));
    expect(s!.disputedCount).toBe(1);
    const keys = await ctx.db.select().from(verifierKeys);
    const rep = (hex: string) => keys.find((k) => k.publicKey === hex)!.reputation;
    expect(rep(alice.hex)).toBeLessThan(0);
    expect(rep(bob.hex)).toBeLessThan(0);
    expect(rep(worker.hex)).toBe(0);
  });

  it('withdraws the audited badge, logged, when the key that signed the audit is revoked as compromised', async () => {
    const id = await attestedClaim(real, '2026-11-27T10:00:02.000Z');
    const { jobs } = await runWorker({ server: server.url, secretKey: worker.secretKey, once: true, log: () => {} });
    expect(jobs).toBe(1);
    type Full = { status: string; auditedAt: string | null; history: { status: string; rule: string }[]; replay: { kind: string; state: string }[] };
    const full = async () => (await (await app.request(`/v1/claims/${id}`)).json()) as Full;
    const audited = await full();
    expect(audited).toMatchObject({ status: 'verified', auditedAt: expect.any(String) });
    expect(audited.history.at(-1)!.rule).toMatch(/^audit replay agreed/);

    const keys = (await (await app.request('/v1/verifier-keys')).json()) as { keys: { id: string; publicKey: string }[] };
    const workerKey = keys.keys.find((k) => k.publicKey === worker.hex)!;
    const revoked = await postJson(app, `/v1/verifier-keys/${workerKey.id}/revoke`, { reason: 'compromised' }, auth);
    expect(revoked.status, await revoked.clone().text()).toBe(200);

    const after = await full();
    // Still verified (alice's and bob's attestations did not come from the revoked key), but no longer audited: the
    // withdrawal is a leaf of its own, and the claim waits for a new audit.
    expect(after).toMatchObject({ status: 'verified', auditedAt: null });
    expect(after.history).toHaveLength(audited.history.length + 1);
    expect(after.history.at(-1)!.rule).toMatch(/audit withdrawn: its signer .* was revoked as compromised/);
    expect(after.replay).toEqual([expect.objectContaining({ kind: 'audit', state: 'queued' })]);
  });
});
