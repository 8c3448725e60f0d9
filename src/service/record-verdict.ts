// Records a verdict: the verdict row, the claim's current status, the submitter's record and the log leaf, all in
// the caller's transaction, so a verdict is never stored without its log entry or the other way round.
import { eq, sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import { claims, submitterKeys, verdicts } from '../../db/schema.ts';
import { toVerdictRecordBytes } from './verdict-record.ts';
import { appendLogLeaf } from './log-append.ts';
import { maybeQueueAudit } from './audits.ts';
import type { AppContext } from './context.ts';
import type { Verdict } from './verdict.ts';

export type ClaimRow = typeof claims.$inferSelect;

export async function recordVerdict(
  ctx: AppContext,
  tx: Tx,
  claim: Pick<ClaimRow, 'id' | 'taskId' | 'commit' | 'submitter' | 'metricName' | 'metricValue' | 'status'>,
  verdict: Verdict,
  decidedAt: Date,
): Promise<{ logIndex: number }> {
  const record = toVerdictRecordBytes(claim, verdict, decidedAt);
  const logIndex = await appendLogLeaf(ctx, tx, record, claim.id);
  await tx.insert(verdicts).values({
    claimId: claim.id,
    status: verdict.status,
    method: verdict.method,
    reasonCode: verdict.reasonCode,
    rule: verdict.rule,
    evidenceDigests: verdict.evidenceDigests,
    decidedAt,
    logIndex,
  });
  await tx
    .update(claims)
    .set({ status: verdict.status, method: verdict.method, reasonCode: verdict.reasonCode })
    .where(eq(claims.id, claim.id));
  await updateSubmitterRecord(tx, claim.submitter, claim.status, verdict.status);
  // Evidence checked cheaply is audited now and then by a full replay; a replay verdict needs no second one.
  if (verdict.status === 'verified' && (verdict.method === 'zk' || verdict.method === 'attested')) {
    await maybeQueueAudit(ctx, tx, claim, decidedAt);
  }
  return { logIndex };
}

// The submitter's record moves with each change of status: verified raises it, rejected and disputed lower it.
async function updateSubmitterRecord(tx: Tx, submitter: string, from: string, to: string) {
  const weight: Record<string, number> = { verified: 1, rejected: -2, disputed: -5, pending: 0 };
  const delta = (weight[to] ?? 0) - (weight[from] ?? 0);
  const counter = (status: string, column: 'verified_count' | 'rejected_count' | 'disputed_count') =>
    sql.raw(`${column} + ${(to === status ? 1 : 0) - (from === status ? 1 : 0)}`);
  await tx
    .update(submitterKeys)
    .set({
      reputation: sql`${submitterKeys.reputation} + ${delta}`,
      verifiedCount: counter('verified', 'verified_count'),
      rejectedCount: counter('rejected', 'rejected_count'),
      disputedCount: counter('disputed', 'disputed_count'),
    })
    .where(eq(submitterKeys.publicKey, submitter));
}
