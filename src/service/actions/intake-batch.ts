// Group commit of the intake: claims that passed their checks are stored together, one transaction per batch, so that
// N concurrent claims cost one log append (one head lock, one read of the tree's right edge, one signed checkpoint)
// and a fixed number of statements instead of N of each. The log head lock serialises every append, so before this a
// claim's whole transaction queued behind every other claim's.
//
// Scheduling: the first claim after a quiet spell is committed at once, alone; claims that arrive while a batch is
// being written wait for it to end and go together in the next one. No timer, so a lone claim never waits for
// company and nothing is left behind at shutdown. Each caller gets its own claim's outcome once its batch has
// committed: a 2xx still means "stored", never "will be stored".
//
// Failure: a batch that fails is rolled back whole and each of its claims is retried in a transaction of its own, so
// one claim that trips a constraint cannot fail the others.
import { inArray } from 'drizzle-orm';
import type { Tx } from '../../../db/client.ts';
import { claims, evidence, replayJobs, submitterKeys, zkStatements } from '../../../db/schema.ts';
import type { ClaimPayload } from '../../attest/claim.ts';
import type { AppContext } from '../context.ts';
import type { IntakeJudgement } from '../judging/judge-evidence.ts';
import type { EvidenceItem } from '../judging/evidence-item.ts';
import { evidenceDigest } from '../../verdict/evidence-digest.ts';
import { recordVerdicts } from '../storage/record-verdict.ts';
import { nextVerdict } from '../../verdict/rules.ts';
import type { ClaimStatus, Verdict } from '../../verdict/verdict.ts';

/** A claim whose signature, task, limits, evidence and stamp were checked: what is left is to store it. */
export type CheckedClaim = {
  claimId: string;
  claim: ClaimPayload;
  /** The envelope exactly as it verified. */
  envelope: object;
  /** The submitter's intake envelope exactly as it verified (src/attest/intake.ts). */
  intakeEnvelope: object;
  items: EvidenceItem[];
  judgement: IntakeJudgement;
  stampWork: number;
  receivedAt: Date;
};

export type StoredClaim = {
  claimId: string;
  status: ClaimStatus;
  /** false when the same claim was already here (idempotent resubmission). */
  created: boolean;
  verdict: Verdict | null;
};

/** Largest batch: keeps each statement far below PostgreSQL's 65,535 bind parameters and bounds one transaction. */
export const MAX_INTAKE_BATCH = 128;

type Waiter = { checked: CheckedClaim; resolve: (r: StoredClaim) => void; reject: (e: unknown) => void };
type IntakeQueue = { waiting: Waiter[]; draining: boolean; batches: number; claims: number };

const queues = new WeakMap<AppContext, IntakeQueue>();

/** Stores one checked claim with whatever else is waiting; resolves once its batch has committed. */
export function storeCheckedClaim(ctx: AppContext, checked: CheckedClaim): Promise<StoredClaim> {
  let queue = queues.get(ctx);
  if (!queue) queues.set(ctx, (queue = { waiting: [], draining: false, batches: 0, claims: 0 }));
  const q = queue;
  return new Promise<StoredClaim>((resolve, reject) => {
    q.waiting.push({ checked, resolve, reject });
    if (!q.draining) void drain(ctx, q);
  });
}

function countCommitted(q: IntakeQueue, claims: number): void {
  q.batches += 1;
  q.claims += claims;
}

/** Batches committed by this process and the claims they held: how much grouping the traffic allows (/metrics). */
export function intakeBatchStats(ctx: AppContext): { batches: number; claims: number } {
  const q = queues.get(ctx);
  return { batches: q?.batches ?? 0, claims: q?.claims ?? 0 };
}

async function drain(ctx: AppContext, q: IntakeQueue): Promise<void> {
  q.draining = true;
  try {
    while (q.waiting.length > 0) {
      const batch = q.waiting.splice(0, MAX_INTAKE_BATCH);
      try {
        const results = await ctx.db.transaction((tx) => storeBatch(ctx, tx, batch.map((w) => w.checked)));
        countCommitted(q, batch.length);
        batch.forEach((w, i) => w.resolve(results[i]!));
      } catch (batchError) {
        if (batch.length === 1) {
          batch[0]!.reject(batchError);
          continue;
        }
        for (const w of batch) {
          try {
            const [result] = await ctx.db.transaction((tx) => storeBatch(ctx, tx, [w.checked]));
            countCommitted(q, 1);
            w.resolve(result!);
          } catch (e) {
            w.reject(e);
          }
        }
      }
    }
  } finally {
    q.draining = false;
  }
}

/** Stores the claims of one batch in the caller's transaction; results in the order given. */
export async function storeBatch(ctx: AppContext, tx: Tx, batch: readonly CheckedClaim[]): Promise<StoredClaim[]> {
  // The same claim twice in one batch is one claim: the first copy is stored, the others answer as resubmissions.
  const firstOf = new Map<string, CheckedClaim>();
  for (const c of batch) if (!firstOf.has(c.claimId)) firstOf.set(c.claimId, c);
  const unique = [...firstOf.values()];
  const rows = new Map(unique.map((c) => [c.claimId, claimRow(c)]));

  await tx
    .insert(submitterKeys)
    .values([...new Map(unique.map((c) => [c.claim.submitter, { publicKey: c.claim.submitter, firstSeenAt: c.receivedAt }])).values()])
    .onConflictDoNothing();
  const insertedIds = new Set(
    (
      await tx
        .insert(claims)
        .values([...rows.values()])
        .onConflictDoNothing()
        .returning({ id: claims.id })
    ).map((r) => r.id),
  );
  const fresh = unique.filter((c) => insertedIds.has(c.claimId));
  // A concurrent request (or another API process) stored these first: answer with what is stored now.
  const stored = await statusesOf(tx, unique.filter((c) => !insertedIds.has(c.claimId)).map((c) => c.claimId));

  const evidenceRows = fresh.flatMap((c) =>
    c.items.map((item) => ({ claimId: c.claimId, kind: item.type, body: item, digest: evidenceDigest(item), receivedAt: c.receivedAt })),
  );
  if (evidenceRows.length > 0) await tx.insert(evidence).values(evidenceRows).onConflictDoNothing();

  const verdicts = await settleVerdicts(tx, fresh);
  await recordVerdicts(
    ctx,
    tx,
    // The row just inserted is the claim as a verdict sees it (status still pending).
    fresh.filter((c) => verdicts.has(c.claimId)).map((c) => ({ claim: rows.get(c.claimId)!, verdict: verdicts.get(c.claimId)!, decidedAt: c.receivedAt })),
  );
  const toReplay = fresh.filter((c) => !c.judgement.settled);
  if (toReplay.length > 0) {
    await tx
      .insert(replayJobs)
      .values(toReplay.map((c) => ({ claimId: c.claimId, kind: 'replay', state: 'queued', createdAt: c.receivedAt, updatedAt: c.receivedAt })));
  }

  return batch.map((c) => {
    const isFirstCopy = firstOf.get(c.claimId) === c && insertedIds.has(c.claimId);
    if (!isFirstCopy) {
      const status = verdicts.get(c.claimId)?.status ?? stored.get(c.claimId) ?? 'pending';
      return { claimId: c.claimId, status: status as ClaimStatus, created: false, verdict: null };
    }
    const verdict = verdicts.get(c.claimId) ?? null;
    return { claimId: c.claimId, status: (verdict?.status ?? 'pending') as ClaimStatus, created: true, verdict };
  });
}

/**
 * The verdicts of the settled claims. A zk statement counts for one claim only (a Groth16 proof can be re-randomised,
 * so the statement, not the proof bytes, is what must be new): statements go into a unique table, earlier claims of
 * the batch first, and a claim that finds any of its statements taken is rejected and keeps none of them.
 */
async function settleVerdicts(tx: Tx, fresh: readonly CheckedClaim[]): Promise<Map<string, Verdict>> {
  const verdicts = new Map<string, Verdict>();
  const proving: CheckedClaim[] = [];
  for (const c of fresh) {
    if (!c.judgement.settled) continue;
    verdicts.set(c.claimId, c.judgement.verdict);
    if (c.judgement.verdict.status === 'verified' && c.judgement.zkStatements.length > 0) proving.push(c);
  }
  if (proving.length === 0) return verdicts;
  const taken = await tx
    .insert(zkStatements)
    .values(proving.flatMap((c) => c.judgement.zkStatements.map((digest) => ({ digest, claimId: c.claimId }))))
    .onConflictDoNothing()
    .returning();
  const kept = new Map<string, number>();
  for (const row of taken) kept.set(row.claimId, (kept.get(row.claimId) ?? 0) + 1);
  const reused = proving.filter((c) => (kept.get(c.claimId) ?? 0) !== new Set(c.judgement.zkStatements).size);
  for (const c of reused) {
    const intake = verdicts.get(c.claimId)!;
    const decision = nextVerdict(intake, { kind: 'zk_statement_reused', evidenceDigests: intake.evidenceDigests });
    if (decision) verdicts.set(c.claimId, decision.verdict);
  }
  const partial = reused.filter((c) => kept.has(c.claimId)).map((c) => c.claimId);
  if (partial.length > 0) await tx.delete(zkStatements).where(inArray(zkStatements.claimId, partial));
  return verdicts;
}

async function statusesOf(tx: Tx, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await tx.select({ id: claims.id, status: claims.status }).from(claims).where(inArray(claims.id, [...ids]));
  return new Map(rows.map((r) => [r.id, r.status]));
}

function claimRow(c: CheckedClaim) {
  return {
    id: c.claimId,
    taskId: c.claim.task,
    submitter: c.claim.submitter,
    commit: c.claim.commit,
    parent: c.claim.parent,
    beatsParent: c.claim.beatsParent,
    metricName: c.claim.metric.name,
    metricValue: c.claim.metric.value,
    bundleSha256: c.claim.bundle.slice('sha256:'.length),
    envelope: c.envelope,
    intakeEnvelope: c.intakeEnvelope,
    claimedAt: new Date(c.claim.createdAt),
    receivedAt: c.receivedAt,
    status: 'pending',
    stampBits: c.stampWork,
  } satisfies typeof claims.$inferInsert;
}
