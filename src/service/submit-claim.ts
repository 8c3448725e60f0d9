// Intake: one signed claim with its evidence. Parses at the edge, checks cheaply, stores atomically.
import { and, count, eq } from 'drizzle-orm';
import { z } from 'zod';
import { verifyClaimEnvelope, type ClaimRejection } from '../attest/claim.ts';
import { blobs, claims, evidence, replayJobs, submitterKeys, zkStatements } from '../../db/schema.ts';
import type { AppContext } from './context.ts';
import { ServiceError, type ErrorCode } from './errors.ts';
import { getTask, type TaskRow } from './tasks.ts';
import { stampBits, stampSchema, verifyStamp, type Stamp } from '../attest/stamp.ts';
import { currentDifficulty } from './stamps.ts';
import { enforceRateLimit } from './rate-limit.ts';
import { judgeEvidence, evidenceDigest, type EvidenceItem } from './judge-evidence.ts';
import { recordVerdict } from './record-verdict.ts';
import type { ClaimStatus, Verdict } from './verdict.ts';

export const MAX_EVIDENCE_ITEMS = 32;

export const submitClaimSchema = z
  .object({
    claim: z.unknown(),
    evidence: z
      .array(z.object({ type: z.enum(['zk', 'attestation']) }).passthrough())
      .max(MAX_EVIDENCE_ITEMS)
      .default([]),
    // Proof of work, required only when the claim would go to replay (no evidence that settles it cheaply).
    stamp: stampSchema.optional(),
  })
  .strict();
export type SubmitClaimInput = z.infer<typeof submitClaimSchema>;

export type SubmitClaimResult = {
  claimId: string;
  status: ClaimStatus;
  /** false when the same claim was already here (idempotent resubmission). */
  created: boolean;
  verdict: Verdict | null;
};

const CLAIM_REJECTION_CODES: Record<ClaimRejection, ErrorCode> = {
  bad_envelope: 'bad_envelope',
  wrong_payload_type: 'wrong_payload_type',
  bad_signature: 'bad_signature',
  bad_claim: 'bad_claim',
  submitter_mismatch: 'submitter_mismatch',
  payload_too_large: 'payload_too_large',
};

export type ClientInfo = { address: string };

export async function submitClaim(ctx: AppContext, input: SubmitClaimInput, client: ClientInfo = { address: 'local' }): Promise<SubmitClaimResult> {
  // Per-address limit before any signature work: a flood from one address costs it, not our CPU.
  await enforceRateLimit(ctx, `addr:${client.address}`, { perWindow: ctx.config.limits.requestsPerAddressPerMinute, windowSeconds: 60 }, 'requests from this address');
  const checked = verifyClaimEnvelope(input.claim);
  if (!checked.ok) throw new ServiceError(CLAIM_REJECTION_CODES[checked.reason], checked.message);
  const { claim, claimId } = checked;

  const existing = await findClaimStatus(ctx, claimId);
  if (existing) return { claimId, status: existing, created: false, verdict: null };

  const task = await getTask(ctx, claim.task).catch((e) => {
    if (e instanceof ServiceError) throw new ServiceError('unknown_task', `claim names unknown task ${claim.task}`);
    throw e;
  });
  if (claim.metric.name !== task.metricName) {
    throw new ServiceError('metric_mismatch', `task ${task.id} measures ${task.metricName}, not ${claim.metric.name}`);
  }
  const bundleSha = claim.bundle.slice('sha256:'.length);
  const [blob] = await ctx.db.select({ sha256: blobs.sha256 }).from(blobs).where(eq(blobs.sha256, bundleSha));
  // Without the commit's bundle nobody could ever replay or audit the claim: refuse it at the door.
  if (!blob) throw new ServiceError('unknown_blob', `upload the bundle first: PUT /v1/blobs/${claim.bundle}`);
  const [submitter] = await ctx.db.select().from(submitterKeys).where(eq(submitterKeys.publicKey, claim.submitter));
  if (submitter?.bannedAt) throw new ServiceError('submitter_banned', 'this submitter key is banned');
  await enforceRateLimit(ctx, `key:${claim.submitter}`, { perWindow: ctx.config.limits.claimsPerKeyPerMinute, windowSeconds: 60 }, 'claims by this key');
  const [pending] = await ctx.db
    .select({ n: count() })
    .from(claims)
    .where(and(eq(claims.submitter, claim.submitter), eq(claims.status, 'pending')));
  if ((pending?.n ?? 0) >= ctx.config.limits.pendingPerKey) {
    throw new ServiceError('pending_limit', `this key already has ${pending!.n} pending claims`, { retryAfterSeconds: 60 });
  }

  const items = input.evidence as EvidenceItem[];
  const judgement = await judgeEvidence(ctx, task, { ...claim, claimId }, items);
  const now = ctx.now();
  const stampWork = judgement.settled ? 0 : await checkStamp(ctx, task, claimId, input.stamp);

  return ctx.db.transaction(async (tx) => {
    await tx.insert(submitterKeys).values({ publicKey: claim.submitter, firstSeenAt: now }).onConflictDoNothing();
    const inserted = await tx
      .insert(claims)
      .values({
        id: claimId,
        taskId: claim.task,
        submitter: claim.submitter,
        commit: claim.commit,
        parent: claim.parent,
        beatsParent: claim.beatsParent,
        metricName: claim.metric.name,
        metricValue: claim.metric.value,
        bundleSha256: bundleSha,
        envelope: input.claim as object,
        claimedAt: new Date(claim.createdAt),
        receivedAt: now,
        status: 'pending',
        stampBits: stampWork,
      })
      .onConflictDoNothing()
      .returning({ id: claims.id });
    // A concurrent submission of the same claim won the race: this one is the same claim, already stored.
    if (inserted.length === 0) return { claimId, status: 'pending' as ClaimStatus, created: false, verdict: null };

    for (const item of items) {
      await tx
        .insert(evidence)
        .values({ claimId, kind: item.type, body: item, digest: evidenceDigest(item), receivedAt: now })
        .onConflictDoNothing();
    }
    let verdict: Verdict | null = null;
    if (judgement.settled) {
      verdict = judgement.verdict;
      if (verdict.status === 'verified' && judgement.zkStatements.length > 0) {
        const fresh = await tx
          .insert(zkStatements)
          .values(judgement.zkStatements.map((digest) => ({ digest, claimId })))
          .onConflictDoNothing()
          .returning();
        // A re-randomised proof of a statement already counted for another claim proves nothing new.
        if (fresh.length !== judgement.zkStatements.length) {
          verdict = {
            status: 'rejected',
            method: null,
            reasonCode: 'zk_statement_reused',
            rule: 'a zk statement counts for one claim only',
            evidenceDigests: verdict.evidenceDigests,
          };
        }
      }
      const claimRow = { ...claimRowFields(claimId, claim), status: 'pending' };
      await recordVerdict(ctx, tx, claimRow, verdict, now);
    } else {
      await tx.insert(replayJobs).values({ claimId, kind: 'replay', state: 'queued', createdAt: now, updatedAt: now });
    }
    return { claimId, status: (verdict?.status ?? 'pending') as ClaimStatus, created: true, verdict };
  });
}

/**
 * A claim that would go to replay costs minutes of GPU time: it must carry a stamp bound to its id with at least the
 * task's current difficulty. Returns the stamp's work (leading zero bits), which also orders the replay queue.
 */
async function checkStamp(ctx: AppContext, task: TaskRow, claimId: string, stamp: Stamp | undefined): Promise<number> {
  const { bits } = await currentDifficulty(ctx, task);
  if (bits === 0) return stamp ? stampBits(claimId, stamp) : 0;
  if (!stamp) {
    throw new ServiceError('stamp_required', `this claim goes to replay: attach a proof-of-work stamp of ${bits} bits`, { requiredBits: bits });
  }
  const check = verifyStamp(claimId, stamp, bits);
  if (!check.ok) {
    throw new ServiceError('bad_stamp', `stamp has ${check.bits} bits for this claim, ${check.required} required`, { requiredBits: check.required, bits: check.bits });
  }
  return check.bits;
}

function claimRowFields(claimId: string, claim: { task: string; commit: string; submitter: string; metric: { name: string; value: number } }) {
  return {
    id: claimId,
    taskId: claim.task,
    commit: claim.commit,
    submitter: claim.submitter,
    metricName: claim.metric.name,
    metricValue: claim.metric.value,
  };
}

async function findClaimStatus(ctx: AppContext, claimId: string): Promise<ClaimStatus | null> {
  const [row] = await ctx.db.select({ status: claims.status }).from(claims).where(eq(claims.id, claimId));
  return (row?.status as ClaimStatus | undefined) ?? null;
}
