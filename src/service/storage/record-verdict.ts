// Records verdicts: the verdict rows, the claims' current status, the submitters' records and the log leaves, all in
// the caller's transaction, so a verdict is never stored without its log entry or the other way round. Takes many
// verdicts at once (the intake commits a batch of claims together) in a fixed number of statements per batch.
import { inArray, sql } from 'drizzle-orm';
import type { Tx } from '../../../db/client.ts';
import { claims, submitterKeys, tasks, verdicts } from '../../../db/schema.ts';
import { verdictRecordText } from '../../verdict/record.ts';
import { appendLogLeaves } from './log-append.ts';
import { queueAudits } from './audits.ts';
import type { AppContext } from '../context.ts';
import type { Verdict } from '../../verdict/verdict.ts';

export type ClaimRow = typeof claims.$inferSelect;
/** What a verdict needs of its claim; `status` is the claim's status before this verdict. */
export type ClaimForVerdict = Pick<ClaimRow, 'id' | 'taskId' | 'commit' | 'submitter' | 'metricName' | 'metricValue' | 'status'>;
export type VerdictToRecord = { claim: ClaimForVerdict; verdict: Verdict; decidedAt: Date };

export async function recordVerdict(ctx: AppContext, tx: Tx, claim: ClaimForVerdict, verdict: Verdict, decidedAt: Date): Promise<{ logIndex: number }> {
  const [recorded] = await recordVerdicts(ctx, tx, [{ claim, verdict, decidedAt }]);
  return recorded!;
}

/** Records each verdict in order (log indexes follow the order given). A claim may appear once per call. */
export async function recordVerdicts(ctx: AppContext, tx: Tx, items: readonly VerdictToRecord[]): Promise<{ logIndex: number }[]> {
  if (items.length === 0) return [];
  // The submitter record moves from the claim's previous status; two verdicts for one claim here would count twice.
  if (new Set(items.map((i) => i.claim.id)).size !== items.length) throw new Error('recordVerdicts: a claim appears twice in one batch');
  // Each verdict names the log entry of its task's definition: the policy and pins it was judged against.
  const taskIds = [...new Set(items.map((i) => i.claim.taskId))];
  const definitions = new Map(
    (await tx.select({ id: tasks.id, entry: tasks.definitionLogIndex }).from(tasks).where(inArray(tasks.id, taskIds))).map((t) => [t.id, t.entry]),
  );
  const logIndexes = await appendLogLeaves(
    ctx,
    tx,
    items.map(({ claim, verdict, decidedAt }) => ({ data: toVerdictRecordBytes(claim, verdict, decidedAt, definitions.get(claim.taskId) ?? null), claimId: claim.id })),
  );
  await tx.insert(verdicts).values(
    items.map(({ claim, verdict, decidedAt }, k) => ({
      claimId: claim.id,
      status: verdict.status,
      method: verdict.method,
      reasonCode: verdict.reasonCode,
      rule: verdict.rule,
      evidenceDigests: verdict.evidenceDigests,
      decidedAt,
      logIndex: logIndexes[k]!,
    })),
  );
  const statusRows = items.map(({ claim, verdict }) => sql`(${claim.id}::text, ${verdict.status}::text, ${verdict.method}::text, ${verdict.reasonCode}::text)`);
  await tx.execute(sql`
    update ${claims} set status = v.status, method = v.method, reason_code = v.reason_code
    from (values ${sql.join(statusRows, sql`, `)}) as v(id, status, method, reason_code)
    where ${claims.id} = v.id`);
  await updateSubmitterRecords(tx, items);
  // Evidence checked cheaply is audited now and then by a full replay; a replay verdict needs no second one.
  const cheaplyVerified = items.filter(({ verdict }) => verdict.status === 'verified' && (verdict.method === 'zk' || verdict.method === 'attested'));
  if (cheaplyVerified.length > 0) {
    const latest = cheaplyVerified.reduce((a, b) => (b.decidedAt > a ? b.decidedAt : a), cheaplyVerified[0]!.decidedAt);
    await queueAudits(ctx, tx, cheaplyVerified.map(({ claim }) => claim), latest);
  }
  return logIndexes.map((logIndex) => ({ logIndex }));
}

/** The log leaf of a verdict: the canonical record (src/verdict/record.ts) of the claim's row and the verdict. */
export function toVerdictRecordBytes(claim: Omit<ClaimForVerdict, 'status'>, verdict: Verdict, decidedAt: Date, taskDefinitionEntry: number | null): Uint8Array {
  const text = verdictRecordText({
    claim: { id: claim.id, task: claim.taskId, commit: claim.commit, submitter: claim.submitter, metric: { name: claim.metricName, value: claim.metricValue } },
    verdict: { status: verdict.status, method: verdict.method, reasonCode: verdict.reasonCode, rule: verdict.rule, evidence: verdict.evidenceDigests },
    decidedAt: decidedAt.toISOString(),
    taskDefinitionEntry,
  });
  return new TextEncoder().encode(text);
}

// A submitter's record moves with each change of status: verified raises it, rejected and disputed lower it.
const REPUTATION_WEIGHT: Record<string, number> = { verified: 1, rejected: -2, disputed: -5, pending: 0 };

async function updateSubmitterRecords(tx: Tx, items: readonly VerdictToRecord[]) {
  const bySubmitter = new Map<string, { reputation: number; verified: number; rejected: number; disputed: number }>();
  for (const { claim, verdict } of items) {
    const [from, to] = [claim.status, verdict.status];
    const d = bySubmitter.get(claim.submitter) ?? { reputation: 0, verified: 0, rejected: 0, disputed: 0 };
    d.reputation += (REPUTATION_WEIGHT[to] ?? 0) - (REPUTATION_WEIGHT[from] ?? 0);
    for (const status of ['verified', 'rejected', 'disputed'] as const) d[status] += (to === status ? 1 : 0) - (from === status ? 1 : 0);
    bySubmitter.set(claim.submitter, d);
  }
  const rows = [...bySubmitter].map(
    ([key, d]) => sql`(${key}::text, ${d.reputation}::integer, ${d.verified}::integer, ${d.rejected}::integer, ${d.disputed}::integer)`,
  );
  await tx.execute(sql`
    update ${submitterKeys} set
      reputation = ${submitterKeys.reputation} + v.d_reputation,
      verified_count = ${submitterKeys.verifiedCount} + v.d_verified,
      rejected_count = ${submitterKeys.rejectedCount} + v.d_rejected,
      disputed_count = ${submitterKeys.disputedCount} + v.d_disputed
    from (values ${sql.join(rows, sql`, `)}) as v(public_key, d_reputation, d_verified, d_rejected, d_disputed)
    where ${submitterKeys.publicKey} = v.public_key`);
}
