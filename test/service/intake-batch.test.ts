// The intake's group commit (src/service/actions/intake-batch.ts) on each database: claims checked at the same time are
// stored together, each caller gets its own outcome, a zk statement counts once even inside one batch, the same claim
// twice is one claim, and a claim that breaks its batch's transaction is retried alone so the others still land.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count, eq, inArray } from 'drizzle-orm';
import { claims, logHead, logLeaves, verdicts, zkStatements } from '../../db/schema.ts';
import { verifyClaimEnvelope, type ClaimPayload } from '../../src/attest/claim.ts';
import { createApp } from '../../src/api/app.ts';
import type { AppContext } from '../../src/service/context.ts';
import { intakeBatchStats, storeCheckedClaim, type CheckedClaim } from '../../src/service/actions/intake-batch.ts';
import { latestCheckpoint } from '../../src/service/views/log-read.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { makeTestContext } from '../helpers/context.ts';
import { DEFAULT_COMMIT, newKey, putBlob, signedClaim, withIntake } from '../helpers/claims.ts';

let commitSeq = 0;
const nextCommit = () => (++commitSeq).toString(16).padStart(40, '0');

/** A checked claim as submitClaim hands it over: verified by zk with the given statement digests. */
function zkChecked(over: Partial<ClaimPayload> = {}, statements: string[] = [nextCommit(), nextCommit()]): CheckedClaim {
  const envelope = signedClaim(newKey(), { commit: nextCommit(), ...over });
  const checked = verifyClaimEnvelope(envelope);
  if (!checked.ok) throw new Error(checked.message);
  return {
    claimId: checked.claimId,
    claim: checked.claim,
    envelope,
    intakeEnvelope: withIntake({ claim: envelope, evidence: [] }).intake,
    items: [],
    judgement: {
      settled: true,
      zkStatements: statements,
      verdict: { status: 'verified', method: 'zk', reasonCode: null, rule: 'test: proofs checked', evidenceDigests: [] },
    },
    stampWork: 0,
    receivedAt: new Date(),
  };
}

describe.each(databaseKinds())('intake group commit on %s', (kind) => {
  let ctx: AppContext;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const t = await makeTestContext(kind);
    ctx = t.ctx;
    close = t.close;
    expect((await putBlob(createApp(ctx, { log: () => {} }), DEFAULT_COMMIT.bundle)).status).toBe(201);
  });
  afterAll(async () => close());

  const logSize = async () => (await ctx.db.select().from(logHead))[0]?.size ?? 0;

  it('claims arriving together share a batch; each gets its own verdict and log leaf, under one new checkpoint', async () => {
    const before = intakeBatchStats(ctx);
    const sizeBefore = await logSize();
    const batch = Array.from({ length: 12 }, () => zkChecked());
    const results = await Promise.all(batch.map((c) => storeCheckedClaim(ctx, c)));
    expect(results.map((r) => [r.claimId, r.status, r.created])).toEqual(batch.map((c) => [c.claimId, 'verified', true]));
    const after = intakeBatchStats(ctx);
    expect(after.claims - before.claims).toBe(12);
    // The first claim is stored at once, alone; the eleven that arrived meanwhile go together.
    expect(after.batches - before.batches).toBe(2);
    expect(await logSize()).toBe(sizeBefore + 12);
    const leaves = await ctx.db.select().from(logLeaves).where(inArray(logLeaves.claimId, batch.map((c) => c.claimId)));
    expect(new Set(leaves.map((l) => l.index)).size).toBe(12);
    const stored = await ctx.db.select().from(verdicts).where(inArray(verdicts.claimId, batch.map((c) => c.claimId)));
    expect(stored.map((v) => v.logIndex).sort()).toEqual(leaves.map((l) => l.index).sort());
    expect((await latestCheckpoint(ctx)).size).toBe(sizeBefore + 12);
  });

  it('a zk statement counts once inside a batch too: the later claim is rejected and keeps none of its statements', async () => {
    const [shared, own] = [nextCommit(), nextCommit()];
    const first = zkChecked({}, [shared, nextCommit()]);
    const second = zkChecked({}, [own, shared]);
    const results = await Promise.all([zkChecked(), first, second].map((c) => storeCheckedClaim(ctx, c)));
    expect(results[1]).toMatchObject({ status: 'verified', created: true });
    expect(results[2]).toMatchObject({ status: 'rejected', created: true, verdict: { reasonCode: 'zk_statement_reused' } });
    const rows = await ctx.db.select().from(zkStatements).where(inArray(zkStatements.digest, [shared, own]));
    expect(rows).toEqual([{ digest: shared, claimId: first.claimId }]);
    const [claim] = await ctx.db.select().from(claims).where(eq(claims.id, second.claimId));
    expect(claim).toMatchObject({ status: 'rejected', reasonCode: 'zk_statement_reused' });
  });

  it('the same claim twice in one batch is stored once; the second copy answers as a resubmission', async () => {
    const c = zkChecked();
    const results = await Promise.all([zkChecked(), c, { ...c }].map((x) => storeCheckedClaim(ctx, x)));
    expect(results[1]).toMatchObject({ claimId: c.claimId, status: 'verified', created: true });
    expect(results[2]).toMatchObject({ claimId: c.claimId, status: 'verified', created: false, verdict: null });
    const [n] = await ctx.db.select({ n: count() }).from(verdicts).where(eq(verdicts.claimId, c.claimId));
    expect(n!.n).toBe(1);
  });

  it('a claim that breaks the batch transaction fails alone; its batch-mates are stored, nothing of it is', async () => {
    // A task that does not exist violates a foreign key: what a task deleted between check and commit would do.
    const poisoned = zkChecked({ task: 'no-such-task' });
    const good = [zkChecked(), zkChecked()];
    const sizeBefore = await logSize();
    const outcomes = await Promise.allSettled([zkChecked(), good[0]!, poisoned, good[1]!].map((c) => storeCheckedClaim(ctx, c)));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(await logSize()).toBe(sizeBefore + 3);
    const stored = await ctx.db.select({ id: claims.id }).from(claims).where(inArray(claims.id, [poisoned.claimId, ...good.map((c) => c.claimId)]));
    expect(stored.map((r) => r.id).sort()).toEqual(good.map((c) => c.claimId).sort());
    const [leaves] = await ctx.db.select({ n: count() }).from(logLeaves).where(eq(logLeaves.claimId, poisoned.claimId));
    expect(leaves!.n).toBe(0);
  });
});
