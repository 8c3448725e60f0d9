// Attestations that arrive after their claim, and re-judging when the trust registry changes.
import { and, asc, eq, inArray, or } from 'drizzle-orm';
import { claims, evidence, replayJobs, tasks } from '../../../db/schema.ts';
import type { Tx } from '../../../db/client.ts';
import { verifyAttestation, type AttestationRejection } from '../../attest/verify-attestations.ts';
import type { ClaimPayload } from '../../attest/claim.ts';
import { taskPolicySchema, withinTolerance } from '../../attest/policy.ts';
import type { VerifierKey } from '../../attest/registry.ts';
import { mean } from '../../attest/stats.ts';
import type { AppContext } from '../context.ts';
import { ServiceError } from '../errors.ts';
import { judgeAttestationItems } from '../judging/judge-evidence.ts';
import { evidenceDigest } from '../../verdict/evidence-digest.ts';
import { loadRegistry } from '../storage/registry.ts';
import { parentRunsOf } from '../judging/parent-runs.ts';
import { claimPayloadOf } from '../judging/claim-payload.ts';
import { applyDecision, claimStateOf } from '../storage/apply-decision.ts';
import { nextVerdict } from '../../verdict/rules.ts';
import { CONTRADICTION_REASONS, type Verdict } from '../../verdict/verdict.ts';
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
 * a second agreeing attestation by a verifier or an operator already counted, or an operator's attestation of a claim
 * signed by its own key (unless the task allows it). Storing those would change nothing but the
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
  const judged = judgeAttestationItems(task!, { ...payload, claimId: claim.id }, items, registry, now, await parentRunsOf(tx, task!, payload, registry, now));
  const index = held.length;
  const own = judged.rejected.filter((r) => r.index === index && NOTHING_ADDED.has(r.reason));
  const first = own[0];
  if (first && (first.reason === 'runs_mismatch' || first.reason === 'environment_mismatch' || first.reason === 'duplicate_attestation')) {
    throw refusal(first.reason, first.message);
  }
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
  const payload = claimPayloadOf(claim);
  const judged = judgeAttestationItems(
    task!,
    { ...payload, claimId: claim.id },
    items.map((e) => ({ envelope: (e.body as { envelope?: unknown }).envelope, receivedAt: e.receivedAt })),
    registry,
    now,
    await parentRunsOf(tx, task!, payload, registry, now),
  );
  return { judged, digests: items.map((e) => e.digest) };
}

const NOTHING_ADDED = new Set<AttestationRejection>([
  'runs_mismatch',
  'environment_mismatch',
  'duplicate_attestation',
  'duplicate_signature',
  'duplicate_verifier',
  'duplicate_operator',
  'self_attestation',
]);

/**
 * Judges all attestation evidence of a claim again and records what the rules decide (src/verdict/rules.ts): a late
 * attestation (`new_attestation`) or a change of trust (`trust_changed`) may verify, contradict or re-open the claim.
 */
export async function rejudgeAttestations(
  ctx: AppContext,
  tx: Tx,
  claim: ClaimRow,
  registry: VerifierKey[],
  now: Date,
  cause: 'new_attestation' | 'trust_changed' = 'new_attestation',
): Promise<Verdict | null> {
  const { judged, digests } = await judgeStoredAttestations(tx, claim, registry, now);
  const event = { kind: 'attestations_judged', cause, judged: { outcome: judged.outcome, rule: judged.rule }, evidenceDigests: digests } as const;
  return applyDecision(ctx, tx, claim, nextVerdict(claimStateOf(claim), event), now);
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
  // What the key signed is checked with the registry as it was before the revocation (afterwards it verifies nothing).
  const registryBefore = registry.map((k) => (k.id === key.id ? { ...k, revokedAt: null, revocationReason: null } : k));
  // A subquery, not a list of ids: the number of claims with attestations is unbounded.
  const withAttestations = tx.selectDistinct({ claimId: evidence.claimId }).from(evidence).where(eq(evidence.kind, 'attestation'));
  const affected = await tx
    .select()
    .from(claims)
    .where(
      and(
        // The key's signatures count for nothing outside its tasks, so no other claim can change.
        inArray(claims.taskId, key.tasks),
        inArray(claims.id, withAttestations),
        or(eq(claims.status, 'verified'), inArray(claims.reasonCode, [...CONTRADICTION_REASONS])),
      ),
    )
    .orderBy(asc(claims.id))
    .for('update');
  const compromised = key.revocationReason === 'compromised';
  const signed = (claim: ClaimRow, kind: 'replay' | 'audit') => compromised && signedByKey(tx, claim, key, registryBefore, now, replayEvidence(tx, claim.id, kind));
  for (const claim of affected) {
    const state = claimStateOf(claim);
    if (claim.status === 'verified' && claim.method === 'replayed') {
      if (await signed(claim, 'replay')) {
        await applyDecision(ctx, tx, claim, nextVerdict(state, { kind: 'replay_signer_compromised', keyId: key.id }), now);
        continue;
      }
    } else if (claim.reasonCode === 'replay_contradicts' || claim.reasonCode === 'audit_contradicts') {
      // A replay's or an audit's contradiction rests on that one result: it goes only with its own signer.
      const kind = claim.reasonCode === 'replay_contradicts' ? 'replay' : 'audit';
      if (await signed(claim, kind)) {
        await applyDecision(ctx, tx, claim, nextVerdict(state, { kind: 'contradiction_signer_compromised', keyId: key.id }), now);
      }
      continue;
    } else if (claim.status !== 'verified' || claim.method === 'attested') {
      await rejudgeAttestations(ctx, tx, claim, registry, now, 'trust_changed');
    }
    // A badge the compromised key gave goes too, whatever else the claim rests on.
    const [current] = await tx.select().from(claims).where(eq(claims.id, claim.id));
    if (current!.auditedAt !== null && (await signed(current!, 'audit'))) {
      await applyDecision(ctx, tx, current!, nextVerdict(claimStateOf(current!), { kind: 'audit_signer_compromised', keyId: key.id }), now);
    }
  }
}

/** The digest of the signed result a finished replay or audit job of the claim left as evidence, if any. */
async function replayEvidence(tx: Tx, claimId: string, kind: 'replay' | 'audit'): Promise<string | null> {
  const [job] = await tx.select({ result: replayJobs.result }).from(replayJobs).where(and(eq(replayJobs.claimId, claimId), eq(replayJobs.kind, kind)));
  const digest = (job?.result as { evidence?: unknown } | null)?.evidence;
  return typeof digest === 'string' ? digest : null;
}

// Whether the key that was just revoked signed the claim's attestation with this digest (checked with the registry as
// it was before the revocation, since afterwards its signatures no longer verify).
async function signedByKey(
  tx: Tx,
  claim: ClaimRow,
  key: VerifierKeyRow,
  registryBefore: VerifierKey[],
  now: Date,
  digest: Promise<string | null>,
): Promise<boolean> {
  const wanted = await digest;
  if (wanted === null) return false;
  const items = await tx.select().from(evidence).where(and(eq(evidence.claimId, claim.id), eq(evidence.digest, wanted)));
  const payload = claimPayloadOf(claim);
  return items.some((e) => {
    const check = verifyAttestation((e.body as { envelope?: unknown }).envelope, { claim: payload, claimId: claim.id, registry: registryBefore, receivedAt: e.receivedAt, now });
    return check.ok && check.verifierKeyIds.includes(key.id);
  });
}
