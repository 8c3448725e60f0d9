// Intake: one signed claim with its evidence. Parses at the edge, checks cheaply, stores atomically.
import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { verifyClaimEnvelope, type ClaimPayload, type ClaimRejection } from '../../attest/claim.ts';
import { sameDigests, verifyIntakeEnvelope, type IntakePayload } from '../../attest/intake.ts';
import { fromBase64 } from '../../attest/bytes.ts';
import { evidenceDigest } from '../../verdict/evidence-digest.ts';
import { blobs, circuits, claims, submitterKeys, tasks } from '../../../db/schema.ts';
import type { AppContext } from '../context.ts';
import { taskPolicySchema } from '../../attest/policy.ts';
import { ServiceError, type ErrorCode } from '../errors.ts';
import type { TaskRow } from './tasks.ts';
import { stampBits, stampSchema, verifyStamp, type Stamp } from '../../attest/stamp.ts';
import { currentDifficulty } from '../storage/stamps.ts';
import { countRequest, enforceRateLimit, rateWindow, refuseOverLimit, type RateWindow } from '../storage/rate-limit.ts';
import { judgeEvidence } from '../judging/judge-evidence.ts';
import { assertBundleHoldsClaim } from '../judging/bundle-lineage.ts';
import { loadRegistry } from '../storage/registry.ts';
import { parentRunsOf } from '../judging/parent-runs.ts';
import { assertEvidenceWithinBounds, evidenceItemSchema, MAX_EVIDENCE_ITEMS, type EvidenceItem } from '../judging/evidence-item.ts';
import type { CircuitHead } from '../judging/judge-zk.ts';
import { storeCheckedClaim, type StoredClaim } from './intake-batch.ts';
import type { ClaimStatus } from '../../verdict/verdict.ts';

export const submitClaimSchema = z
  .object({
    claim: z.unknown(),
    // The submitter's signature over this claim's id, the digests of exactly this evidence, and this log's origin
    // (src/attest/intake.ts): without it a copied claim could be posted first with junk evidence, or elsewhere.
    // Optional in the schema only so that a claim's own faults are named first; intake refuses a missing one.
    intake: z.unknown().optional(),
    // Each item by its type, strict: nothing the judges would not read is ever stored (src/service/judging/evidence-item.ts).
    evidence: z.array(evidenceItemSchema).max(MAX_EVIDENCE_ITEMS).default([]),
    // Proof of work, required only when the claim would go to replay (no evidence that settles it cheaply).
    stamp: stampSchema.optional(),
  })
  .strict();
export type SubmitClaimInput = z.infer<typeof submitClaimSchema>;

export type SubmitClaimResult = StoredClaim;

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
  // Evidence bounds before any signature work or database write: the bytes are what a flood of claims would store.
  const items = input.evidence as EvidenceItem[];
  assertEvidenceWithinBounds(items);
  const checked = verifyClaimEnvelope(input.claim);
  if (!checked.ok) throw new ServiceError(CLAIM_REJECTION_CODES[checked.reason], checked.message);
  const { claim, claimId } = checked;
  const digests = items.map((item) => evidenceDigest(item));
  const intake = verifyIntakeEnvelope(input.intake, { claimId, submitter: claim.submitter, audience: ctx.logSigner.origin, evidenceDigests: digests });
  if (!intake.ok) throw new ServiceError(intake.reason, intake.message);

  const keyLimit = { perWindow: ctx.config.limits.claimsPerKeyPerMinute, windowSeconds: 60 };
  const keyWindow = rateWindow(ctx.now(), keyLimit);
  const facts = await intakeFacts(ctx, claimId, claim, keyWindow);
  if (facts?.existing) {
    // Only the owner can sign an intake, so a stored claim was posted by its owner: the same evidence again is the same
    // submission (idempotent); other evidence is refused rather than silently dropped.
    if (facts.existingIntake && !sameDigests(storedIntakeEvidence(facts.existingIntake), digests)) {
      throw new ServiceError('claim_evidence_differs', 'this claim is already stored with other evidence; it was judged on that evidence', { claimId });
    }
    return { claimId, status: facts.existing as ClaimStatus, created: false, verdict: null };
  }
  if (!facts) throw new ServiceError('unknown_task', `claim names unknown task ${claim.task}`);
  const { task } = facts;
  if (claim.metric.name !== task.metricName) {
    throw new ServiceError('metric_mismatch', `task ${task.id} measures ${task.metricName}, not ${claim.metric.name}`);
  }
  // Without the commit's bundle nobody could ever replay or audit the claim: refuse it at the door.
  if (!facts.hasBlob) throw new ServiceError('unknown_blob', `upload the bundle first: PUT /v1/blobs/${claim.bundle}`);
  if (facts.banned) throw new ServiceError('submitter_banned', 'this submitter key is banned');
  refuseOverLimit(facts.keyCount, keyLimit, keyWindow, 'claims by this key');
  if (facts.pending >= ctx.config.limits.pendingPerKey) {
    throw new ServiceError('pending_limit', `this key already has ${facts.pending} pending claims`, { retryAfterSeconds: 60 });
  }

  // After the cheap refusals, before any judging: the bundle must hold the commit and the parent must be its known
  // ancestor, or the claim could never be replayed nor its lineage trusted (issue 15, findings 2 and 3).
  await assertBundleHoldsClaim(ctx, claim);
  // After the cheap refusals: finding the parent's runs reads and verifies its attestations.
  const parentRuns = await beatsParentRuns(ctx, claim, task);
  const judgement = await judgeEvidence(ctx, task, { ...claim, claimId }, items, { circuits: facts.circuits, parentRuns });
  const stampWork = judgement.settled ? 0 : await checkStamp(ctx, task, claimId, input.stamp);
  // Stored with the claims that arrive alongside it, in one transaction (src/service/actions/intake-batch.ts).
  return storeCheckedClaim(ctx, { claimId, claim, envelope: input.claim as object, intakeEnvelope: input.intake as object, items, judgement, stampWork, receivedAt: ctx.now() });
}

/** The evidence digests of an intake envelope that verified when it was stored. */
function storedIntakeEvidence(envelope: { payload: string }): string[] {
  return (JSON.parse(Buffer.from(fromBase64(envelope.payload, 'intake.payload')).toString('utf8')) as IntakePayload).evidence;
}

/**
 * "Beats its parent" is decided by a one-sided t-test of the claim's runs over the parent's (src/attest/policy.ts):
 * with fewer than two runs per claim, no parent, or a parent without verified runs, no test is possible, and such a
 * claim could never settle.
 */
async function beatsParentRuns(ctx: AppContext, claim: ClaimPayload, task: TaskRow): Promise<number[] | null> {
  if (!claim.beatsParent) return null;
  if (claim.parent === null) throw new ServiceError('beats_parent_untestable', 'a claim that beats its parent must name the parent commit');
  const policy = taskPolicySchema.parse(task.policy);
  if (policy.runs < 2) {
    throw new ServiceError('beats_parent_untestable', `task ${task.id} runs each claim once: a beats-parent test needs at least 2 runs`);
  }
  // The parent's runs are the other sample: without a verified parent that has them, replay would run for nothing.
  const runs = await parentRunsOf(ctx.db, task, claim, await loadRegistry(ctx.db), ctx.now());
  if (runs === null || runs.length < 2) {
    throw new ServiceError('beats_parent_untestable', `no verified claim of task ${task.id} for parent ${claim.parent} with runs to compare with (have ${runs?.length ?? 0})`);
  }
  return runs;
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

/**
 * What the intake checks before judging, in one statement: the task, and whether the claim is already stored, its
 * bundle uploaded, its key banned, how many claims the key has pending, and the task's circuits (ids and key pins,
 * not the keys). The same statement counts the claim against its key's rate limit, only when it passes the checks
 * before that limit (new claim, known task and metric, bundle uploaded, key not banned), as a separate upsert after
 * them would. Null when the task does not exist.
 */
async function intakeFacts(ctx: AppContext, claimId: string, claim: ClaimPayload, keyWindow: RateWindow) {
  const bundleSha = claim.bundle.slice('sha256:'.length);
  const isNew = sql`not exists (select 1 from ${claims} where ${claims.id} = ${claimId})`;
  const hasBlob = sql`exists (select 1 from ${blobs} where ${blobs.sha256} = ${bundleSha})`;
  const banned = sql`exists (select 1 from ${submitterKeys} where ${submitterKeys.publicKey} = ${claim.submitter} and ${submitterKeys.bannedAt} is not null)`;
  const taskMeasures = sql`exists (select 1 from ${tasks} where ${tasks.id} = ${claim.task} and ${tasks.metricName} = ${claim.metric.name})`;
  const counted = countRequest(ctx.db, `key:${claim.submitter}`, keyWindow.start, sql`${isNew} and ${taskMeasures} and ${hasBlob} and not ${banned}`);
  const [row] = await ctx.db
    .with(counted)
    .select({
      task: tasks,
      existing: sql<string | null>`(select ${claims.status} from ${claims} where ${claims.id} = ${claimId})`,
      existingIntake: sql<{ payload: string } | null>`(select ${claims.intakeEnvelope} from ${claims} where ${claims.id} = ${claimId})`,
      hasBlob: sql<boolean>`${hasBlob}`,
      banned: sql<boolean>`${banned}`,
      pending: sql<number>`(select count(*)::integer from ${claims} where ${claims.submitter} = ${claim.submitter} and ${claims.status} = 'pending')`,
      circuits: sql<CircuitHead[]>`(select coalesce(json_agg(json_build_object('id', ${circuits.id}, 'vkeySha256', ${circuits.vkeySha256}, 'params', ${circuits.params})), '[]'::json) from ${circuits} where ${circuits.taskId} = ${claim.task})`,
      keyCount: sql<number | null>`(select count from counted)`,
    })
    .from(tasks)
    .where(eq(tasks.id, claim.task));
  return row ?? null;
}
