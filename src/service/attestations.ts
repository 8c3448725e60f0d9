// Attestations that arrive after their claim, and re-judging when the trust registry changes.
import { and, asc, eq, inArray, or } from 'drizzle-orm';
import { claims, evidence, replayJobs, tasks } from '../../db/schema.ts';
import type { Tx } from '../../db/client.ts';
import { verifyAttestation, type AttestationRejection } from '../attest/verify-attestations.ts';
import type { ClaimPayload } from '../attest/claim.ts';
import { taskPolicySchema, withinTolerance } from '../attest/policy.ts';
import type { VerifierKey } from '../attest/registry.ts';
import { mean } from '../attest/stats.ts';
import type { AppContext } from './context.ts';
import { ServiceError } from './errors.ts';
import { evidenceDigest, judgeAttestationItems } from './judge-evidence.ts';
import { loadRegistry } from './registry.ts';
import { recordVerdict } from './record-verdict.ts';
import { claimPayloadOf } from './replay-jobs.ts';
import type { Verdict } from './verdict.ts';
import type { VerifierKeyRow } from './verifier-keys.ts';

type ClaimRow = typeof claims.$inferSelect;

export async function addAttestation(ctx: AppContext, claimId: string, envelope: unknown) {
  const now = ctx.now();
  return ctx.db.transaction(async (tx) => {
    const [claim] = await tx.select().from(claims).where(eq(claims.id, claimId)).for('update');
    if (!claim) throw new ServiceError('unknown_claim', `no claim ${claimId}`);
    const registry = await loadRegistry(tx);
    const payload = claimPayloadOf(claim);
    const check = verifyAttestation(envelope, { claim: payload, claimId, registry, receivedAt: now, now });
    // Only attestations that verify on their own are kept: a forged one is refused, not stored as evidence.
    if (!check.ok) throw refusal(check.reason, check.message);
    // An envelope padded with a copy of its own signature, or signed twice by one key, is an attempt to be counted
    // twice; an honest verifier never sends one, so it is refused whole rather than trimmed.
    const padded = check.rejectedSignatures.find((r) => r.reason === 'duplicate_signature' || r.reason === 'duplicate_verifier');
    if (padded) throw refusal(padded.reason, padded.message);
    await refuseIfAddsNothing(tx, claim, payload, envelope, check.statement.predicate.runs, registry, now);
    const item = { type: 'attestation', envelope };
    await tx
      .insert(evidence)
      .values({ claimId, kind: 'attestation', body: item, digest: evidenceDigest(item), receivedAt: now })
      .onConflictDoNothing();
    const verdict = await rejudgeAttestations(ctx, tx, claim, registry, now);
    const [after] = await tx.select({ status: claims.status, method: claims.method }).from(claims).where(eq(claims.id, claimId));
    return { claimId, status: after!.status, method: after!.method, verdict };
  });
}

function refusal(reason: AttestationRejection, message: string): ServiceError {
  return new ServiceError('bad_attestation', `${reason}: ${message}`, { reason });
}

/**
 * Judges the new attestation together with those already held for the claim, and refuses it when it would neither
 * count toward the quorum nor contradict the claim: runs that do not match the policy, the same attestation again,
 * or a second agreeing attestation by a verifier already counted. Storing those would change nothing but the
 * evidence list, and the caller learns exactly why its attestation does not count. A contradiction is always kept,
 * even from a verifier already counted: a trusted contradiction is never ignored.
 */
async function refuseIfAddsNothing(
  tx: Tx,
  claim: ClaimRow,
  payload: ClaimPayload,
  envelope: unknown,
  runs: readonly { value: number }[],
  registry: VerifierKey[],
  now: Date,
) {
  const [task] = await tx.select().from(tasks).where(eq(tasks.id, claim.taskId));
  const held = await tx
    .select()
    .from(evidence)
    .where(and(eq(evidence.claimId, claim.id), eq(evidence.kind, 'attestation')))
    .orderBy(asc(evidence.id));
  const items = [
    ...held.map((e) => ({ envelope: (e.body as { envelope?: unknown }).envelope, receivedAt: e.receivedAt })),
    { envelope, receivedAt: now },
  ];
  const judged = judgeAttestationItems(task!, { ...payload, claimId: claim.id }, items, registry, now);
  const index = held.length;
  const own = judged.rejected.filter((r) => r.index === index && NOTHING_ADDED.has(r.reason));
  const first = own[0];
  if (first && (first.reason === 'runs_mismatch' || first.reason === 'duplicate_attestation')) throw refusal(first.reason, first.message);
  if (judged.counted.some((c) => c.index === index)) return;
  const policy = taskPolicySchema.parse(task!.policy);
  if (!withinTolerance(policy, payload.metric.value, mean(runs.map((r) => r.value)))) return;
  throw refusal(first?.reason ?? 'duplicate_verifier', first?.message ?? 'this attestation adds nothing to the claim');
}

/** All attestation evidence stored for a claim, judged against the registry as it is now. */
async function judgeStoredAttestations(tx: Tx, claim: ClaimRow, registry: VerifierKey[], now: Date) {
  const [task] = await tx.select().from(tasks).where(eq(tasks.id, claim.taskId));
  const items = await tx
    .select()
    .from(evidence)
    .where(and(eq(evidence.claimId, claim.id), eq(evidence.kind, 'attestation')))
    .orderBy(asc(evidence.id));
  const judged = judgeAttestationItems(
    task!,
    { ...claimPayloadOf(claim), claimId: claim.id },
    items.map((e) => ({ envelope: (e.body as { envelope?: unknown }).envelope, receivedAt: e.receivedAt })),
    registry,
    now,
  );
  return { judged, digests: items.map((e) => e.digest) };
}

const NOTHING_ADDED = new Set<AttestationRejection>(['runs_mismatch', 'duplicate_attestation', 'duplicate_signature', 'duplicate_verifier']);

/**
 * Judges all attestation evidence of a claim again and records a verdict when the outcome changes what the claim's
 * status should be. Claims settled by zk or replay keep their verdict unless a trusted attestation contradicts them.
 */
export async function rejudgeAttestations(ctx: AppContext, tx: Tx, claim: ClaimRow, registry: VerifierKey[], now: Date): Promise<Verdict | null> {
  const { judged, digests } = await judgeStoredAttestations(tx, claim, registry, now);
  let verdict: Verdict | null = null;
  if (judged.outcome === 'contradicted' && (claim.status === 'pending' || claim.status === 'verified')) {
    verdict = {
      status: claim.status === 'verified' ? 'disputed' : 'rejected',
      method: null,
      reasonCode: 'attestation_contradicts',
      rule: judged.rule,
      evidenceDigests: digests,
    };
  } else if (judged.outcome === 'verified' && claim.status === 'pending') {
    verdict = { status: 'verified', method: 'attested', reasonCode: null, rule: judged.rule, evidenceDigests: digests };
  } else if (judged.outcome !== 'verified' && claim.status === 'verified' && claim.method === 'attested') {
    // The attestations that verified it no longer count (a key was revoked as compromised): back to pending.
    verdict = { status: 'pending', method: null, reasonCode: 'quorum_lost', rule: judged.rule, evidenceDigests: digests };
    await queueReplay(tx, claim.id, now);
  }
  if (verdict) await recordVerdict(ctx, tx, claim, verdict, now);
  return verdict;
}

/**
 * After a key is revoked, what it signed is judged again, inside the revocation's transaction:
 * - claims verified by attestation: re-judged without the attestations that no longer count (all of them for a
 *   compromised key; those received after a back-dated retirement), back to pending when the quorum is lost;
 * - claims verified by a replay the key signed, when it is compromised: re-opened and replayed again;
 * - claims rejected or disputed by a contradiction: re-opened when the contradiction no longer counts. A stolen key
 *   must not be able to knock honest entries off the leaderboard any more than it can put false ones on it.
 */
export async function rejudgeAfterRevocation(ctx: AppContext, tx: Tx, key: VerifierKeyRow) {
  const now = ctx.now();
  const registry = await loadRegistry(tx);
  // A subquery, not a list of ids: the number of claims with attestations is unbounded.
  const withAttestations = tx.selectDistinct({ claimId: evidence.claimId }).from(evidence).where(eq(evidence.kind, 'attestation'));
  const affected = await tx
    .select()
    .from(claims)
    .where(
      and(
        inArray(claims.id, withAttestations),
        or(eq(claims.status, 'verified'), inArray(claims.reasonCode, [...CONTRADICTION_REASONS])),
      ),
    )
    .orderBy(asc(claims.id))
    .for('update');
  for (const claim of affected) {
    if (claim.status === 'verified' && claim.method === 'attested') await rejudgeAttestations(ctx, tx, claim, registry, now);
    else if (claim.status === 'verified' && claim.method === 'replayed') {
      if (key.revocationReason === 'compromised') await reopenReplayedBy(ctx, tx, claim, key, now);
    } else if (claim.status === 'rejected' || claim.status === 'disputed') await reopenWithdrawnContradiction(ctx, tx, claim, registry, now);
  }
}

const CONTRADICTION_REASONS = ['attestation_contradicts', 'replay_contradicts', 'audit_contradicts'] as const;

/**
 * A claim rejected or disputed because a trusted attestation (or a replay's) contradicted it: if, judged again, no
 * contradiction counts any more, the verdict rested on a key that no longer counts. The claim is verified if the
 * remaining attestations reach the quorum, and otherwise goes back to pending with a replay queued.
 */
async function reopenWithdrawnContradiction(ctx: AppContext, tx: Tx, claim: ClaimRow, registry: VerifierKey[], now: Date) {
  const { judged, digests } = await judgeStoredAttestations(tx, claim, registry, now);
  if (judged.outcome === 'contradicted') return;
  if (judged.outcome === 'verified') {
    await recordVerdict(ctx, tx, claim, { status: 'verified', method: 'attested', reasonCode: null, rule: judged.rule, evidenceDigests: digests }, now);
    return;
  }
  await recordVerdict(
    ctx,
    tx,
    claim,
    { status: 'pending', method: null, reasonCode: 'contradiction_withdrawn', rule: `the contradiction no longer counts; ${judged.rule}`, evidenceDigests: digests },
    now,
  );
  await queueReplay(tx, claim.id, now);
}

async function queueReplay(tx: Tx, claimId: string, now: Date) {
  await tx
    .insert(replayJobs)
    .values({ claimId, kind: 'replay', state: 'queued', createdAt: now, updatedAt: now })
    .onConflictDoUpdate({
      target: [replayJobs.claimId, replayJobs.kind],
      set: { state: 'queued', leaseOwner: null, leaseExpiresAt: null, attempts: 0, updatedAt: now },
    });
}

// A replay verdict signed by a compromised key proves nothing any more: re-open the claim and queue a new replay.
async function reopenReplayedBy(ctx: AppContext, tx: Tx, claim: ClaimRow, key: VerifierKeyRow, now: Date) {
  const items = await tx.select().from(evidence).where(and(eq(evidence.claimId, claim.id), eq(evidence.kind, 'attestation')));
  const payload = claimPayloadOf(claim);
  const registryBefore = (await loadRegistry(tx)).map((k) => (k.id === key.id ? { ...k, revokedAt: null, revocationReason: null } : k));
  const signedByKey = items.some((e) => {
    const check = verifyAttestation((e.body as { envelope?: unknown }).envelope, { claim: payload, claimId: claim.id, registry: registryBefore, receivedAt: e.receivedAt, now });
    return check.ok && check.verifierKeyIds.includes(key.id);
  });
  if (!signedByKey) return;
  await recordVerdict(ctx, tx, claim, { status: 'pending', method: null, reasonCode: 'verifier_compromised', rule: `replay signer ${key.id} revoked as compromised`, evidenceDigests: [] }, now);
  await tx
    .update(replayJobs)
    .set({ state: 'queued', leaseOwner: null, leaseExpiresAt: null, attempts: 0, updatedAt: now })
    .where(and(eq(replayJobs.claimId, claim.id), eq(replayJobs.kind, 'replay')));
}
