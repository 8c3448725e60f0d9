import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count, eq } from 'drizzle-orm';
import { createApp, type Api } from '../../src/api/app.ts';
import { auditLog, claims, replayJobs, submitterKeys, tasks } from '../../db/schema.ts';
import { recordVerdict } from '../../src/service/storage/record-verdict.ts';
import type { AppContext } from '../../src/service/context.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { makeTestContext, OPERATOR_TOKEN } from '../helpers/context.ts';
import { DEFAULT_COMMIT, claimPayload, putCommit, newKey, postJson, putBlob, sha256Hex, signedClaim, stampedClaimBody, withIntake } from '../helpers/claims.ts';
import { signClaim } from '../../src/attest/claim.ts';
import { syntheticCommit } from '../helpers/git-objects.ts';

const auth = { authorization: `Bearer ${OPERATOR_TOKEN}` };

describe.each(databaseKinds())('claims API on %s', (kind) => {
  let ctx: AppContext;
  let app: Api;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const t = await makeTestContext(kind);
    ctx = t.ctx;
    close = t.close;
    app = createApp(ctx, { log: () => {} });
    expect((await putBlob(app, DEFAULT_COMMIT.bundle)).status).toBe(201);
  });
  afterAll(async () => close());

  it('lists the example task registered on first start', async () => {
    const res = await app.request('/v1/tasks');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { tasks: { id: string; metricName: string }[] };
    expect(body.tasks.map((t) => t.id)).toContain('digits-mlp');
  });

  it('accepts a signed claim without evidence as pending, queues a replay, and is idempotent', async () => {
    const key = newKey();
    const a = syntheticCommit('claims-a');
    const envelope = signedClaim(key, await putCommit(app, a));
    const unstamped = await postJson(app, '/v1/claims', withIntake({ claim: envelope, evidence: [] }, key));
    expect(unstamped.status).toBe(428);
    const first = await postJson(app, '/v1/claims', await stampedClaimBody(app, key, envelope));
    expect(first.status).toBe(202);
    const body = (await first.json()) as { id: string; status: string; created: boolean };
    expect(body).toMatchObject({ status: 'pending', created: true });
    expect(body.id).toBe(sha256Hex(Buffer.from(envelope.payload, 'base64')));

    const again = await postJson(app, '/v1/claims', withIntake({ claim: envelope, evidence: [] }, key));
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ id: body.id, created: false });
    const [jobs] = await ctx.db.select({ n: count() }).from(replayJobs).where(eq(replayJobs.claimId, body.id));
    expect(jobs!.n).toBe(1);

    const read = await app.request(`/v1/claims/${body.id}`);
    expect(read.status).toBe(200);
    const claim = (await read.json()) as { status: string; commit: string; replay: { state: string }[] };
    expect(claim).toMatchObject({ status: 'pending', commit: a.commit });
    expect(claim.replay[0]!.state).toBe('queued');

    const bundle = await app.request(`/v1/claims/${body.id}/bundle`);
    expect(bundle.status).toBe(200);
    expect(((await bundle.json()) as { envelope: unknown }).envelope).toEqual(envelope);
  });

  it('refuses a claim whose bundle was never uploaded, an unknown task, and a wrong metric name', async () => {
    const key = newKey();
    const cases: [object, number, string][] = [
      [{ bundle: `sha256:${'e'.repeat(64)}` }, 422, 'unknown_blob'],
      [{ task: 'no-such-task' }, 404, 'unknown_task'],
      [{ metric: { name: 'loss', value: 1 } }, 422, 'metric_mismatch'],
    ];
    for (const [over, status, code] of cases) {
      const res = await postJson(app, '/v1/claims', withIntake({ claim: signedClaim(key, over), evidence: [] }, key));
      expect(res.status, code).toBe(status);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    }
    const [n] = await ctx.db.select({ n: count() }).from(claims).where(eq(claims.submitter, key.hex));
    expect(n!.n).toBe(0);
  });

  it('refuses a claim by a banned key, and stores nothing of it; its earlier claims stay readable', async () => {
    const key = newKey();
    const earlier = signedClaim(key);
    expect((await postJson(app, '/v1/claims', await stampedClaimBody(app, key, earlier))).status).toBe(202);
    await ctx.db.update(submitterKeys).set({ bannedAt: new Date(), banReason: 'test' }).where(eq(submitterKeys.publicKey, key.hex));
    const res = await postJson(app, '/v1/claims', withIntake({ claim: signedClaim(key, { commit: '7b'.repeat(20) }), evidence: [] }, key));
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('submitter_banned');
    const [n] = await ctx.db.select({ n: count() }).from(claims).where(eq(claims.submitter, key.hex));
    expect(n!.n).toBe(1);
  });

  it('limits claims per key per minute: 429 with Retry-After; a resubmission or a refused claim does not count', async () => {
    const [saved, savedNow] = [ctx.config, ctx.now];
    ctx.config = { ...saved, limits: { ...saved.limits, claimsPerKeyPerMinute: 2 } };
    // Mining four stamps can take longer than the rest of a minute: a fixed clock keeps every claim in one window.
    const fixed = new Date(Math.floor(Date.now() / 60_000) * 60_000 + 30_000);
    ctx.now = () => new Date(fixed);
    try {
      const key = newKey();
      const post = async (commit: string, over = {}) => {
        const envelope = signedClaim(key, { ...(await putCommit(app, syntheticCommit(`rate-${commit}`))), ...over });
        const res = await postJson(app, '/v1/claims', await stampedClaimBody(app, key, envelope));
        return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { error?: { code: string } } };
      };
      expect((await post('c1')).status).toBe(202);
      // Refused before the limit (no bundle): not counted.
      expect((await post('c2', { bundle: `sha256:${'e'.repeat(64)}` })).body.error?.code).toBe('unknown_blob');
      expect((await post('c3')).status).toBe(202);
      // The same claim again is answered from what is stored: not counted either.
      expect((await post('c1')).status).toBe(200);
      const third = await post('c4');
      expect(third.status).toBe(429);
      expect(third.body.error?.code).toBe('rate_limited');
      expect(Number(third.retryAfter)).toBeGreaterThan(0);
      const [n] = await ctx.db.select({ n: count() }).from(claims).where(eq(claims.submitter, key.hex));
      expect(n!.n).toBe(2);
    } finally {
      ctx.config = saved;
      ctx.now = savedNow;
    }
  });

  it('refuses a signature by another key and a claim signed for another submitter', async () => {
    const alice = newKey();
    const mallory = newKey();
    const forged = signClaim(claimPayload(alice), mallory.secretKey);
    // keyid names mallory (the signer) but the payload names alice as submitter.
    const res = await postJson(app, '/v1/claims', { claim: { ...forged, signatures: [{ keyid: mallory.hex, sig: forged.signatures[0]!.sig }] } });
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('submitter_mismatch');
    const swapped = await postJson(app, '/v1/claims', { claim: { ...forged, signatures: [{ keyid: alice.hex, sig: forged.signatures[0]!.sig }] } });
    expect(swapped.status).toBe(401);
    expect(((await swapped.json()) as { error: { code: string } }).error.code).toBe('bad_signature');
  });

  it('orders the leaderboard by the metric direction and shows lineage', async () => {
    const key = newKey();
    const ids: string[] = [];
    const c1 = syntheticCommit('lineage-1');
    const [c2, c3] = [syntheticCommit('lineage-2', [c1]), syntheticCommit('lineage-3', [c1])];
    for (const [commit, value, parent] of [
      [c1, 80, undefined],
      [c2, 95, c1],
      [c3, 88, c1],
    ] as const) {
      const res = await postJson(app, '/v1/claims', await stampedClaimBody(app, key, signedClaim(key, { ...(await putCommit(app, commit, parent)), metric: { name: 'correct', value } })));
      ids.push(((await res.json()) as { id: string }).id);
    }
    await ctx.db.transaction(async (tx) => {
      for (const id of ids) {
        const [row] = await tx.select().from(claims).where(eq(claims.id, id));
        await recordVerdict(ctx, tx, row!, { status: 'verified', method: 'replayed', reasonCode: null, rule: 'test', evidenceDigests: [] }, new Date());
      }
    });
    const res = await app.request('/v1/tasks/digits-mlp/leaderboard');
    const board = (await res.json()) as { entries: { commit: string; rank: number; lineage: { parent: string | null; parentClaims: { claimId: string }[] } }[] };
    const mine = board.entries.filter((e) => ids.includes(((e as unknown) as { claimId: string }).claimId));
    expect(mine.map((e) => e.commit)).toEqual([c2.commit, c3.commit, c1.commit]);
    expect(mine[0]!.lineage.parentClaims.map((p) => p.claimId)).toEqual([ids[0]]);
    const [counts] = await ctx.db.select({ n: count() }).from(claims).where(eq(claims.submitter, key.hex));
    expect(counts!.n).toBe(3);
  });

  it('lets only the operator register tasks, and audits it in the same transaction', async () => {
    const policy = { quorum: 1, direction: 'lower', tolerance: { relative: 0.01 }, runs: 3 };
    const task = { id: 'speedrun-loss', title: 'Lower loss', metricName: 'val_loss', direction: 'lower', policy };
    const mismatched = await postJson(app, '/v1/tasks', { ...task, policy: { ...policy, direction: 'higher' } }, auth);
    expect(mismatched.status).toBe(400);
    const anon = await postJson(app, '/v1/tasks', task);
    expect(anon.status).toBe(401);
    const wrong = await postJson(app, '/v1/tasks', task, { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    const ok = await postJson(app, '/v1/tasks', task, auth);
    expect(ok.status).toBe(201);
    const dup = await postJson(app, '/v1/tasks', task, auth);
    expect(((await dup.json()) as { error: { code: string } }).error.code).toBe('task_exists');
    const audits = await ctx.db.select().from(auditLog).where(eq(auditLog.target, 'task:speedrun-loss'));
    expect(audits).toHaveLength(1);
    const [row] = await ctx.db.select().from(tasks).where(eq(tasks.id, 'speedrun-loss'));
    expect(row!.direction).toBe('lower');
  });

  it('manages verifier keys: add, list, revoke, all audited', async () => {
    const v = newKey();
    const add = await postJson(app, '/v1/verifier-keys', { name: 'op-a', operator: 'op-a', publicKey: v.hex, tasks: ['digits-mlp'] }, auth);
    expect(add.status).toBe(201);
    const { id } = (await add.json()) as { id: string };
    expect((await postJson(app, '/v1/verifier-keys', { name: 'x', operator: 'x', publicKey: v.hex, tasks: ['digits-mlp'] }, auth)).status).toBe(409);
    expect((await postJson(app, `/v1/verifier-keys/${id}/revoke`, { reason: 'retired' })).status).toBe(401);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await postJson(app, `/v1/verifier-keys/${id}/revoke`, { reason: 'retired', at: future }, auth)).status).toBe(400);
    const revoke = await postJson(app, `/v1/verifier-keys/${id}/revoke`, { reason: 'compromised' }, auth);
    expect(revoke.status).toBe(200);
    const list = (await (await app.request('/v1/verifier-keys')).json()) as { keys: { id: string; revocationReason: string }[] };
    expect(list.keys.find((k) => k.id === id)!.revocationReason).toBe('compromised');
    const audits = await ctx.db.select().from(auditLog).where(eq(auditLog.target, `verifier_key:${id}`));
    expect(audits.map((a) => a.action)).toEqual(['verifier_key.add', 'verifier_key.revoke']);
  });

  it('serves an OpenAPI document generated from the request schemas', async () => {
    const doc = (await (await app.request('/openapi.json')).json()) as { paths: Record<string, unknown> };
    for (const path of ['/v1/claims', '/v1/claims/{id}', '/v1/claims/{id}/bundle', '/v1/tasks/{id}/leaderboard', '/v1/blobs/{ref}']) {
      expect(doc.paths).toHaveProperty([path]);
    }
  });
});
