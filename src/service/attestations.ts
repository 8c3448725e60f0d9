// Attestations that arrive after their claim, and re-judging when the trust registry changes.
import { and, asc, eq, inArray } from 'drizzle-orm';
import { claims, evidence, replayJobs, tasks } from '../../db/schema.ts';
import type { Tx } from '../../db/client.ts';
import { verifyAttestation } from '../attest/verify-attestations.ts';
import type { VerifierKey } from '../attest/registry.ts';
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
    const check = verifyAttestation(envelope, { claim: claimPayloadOf(claim), claimId, registry, receivedAt: now, now });
    // Only attestations that verify on their own are kept: a forged one is refused, not stored as evidence.
    if (!check.ok) throw new ServiceError('bad_attestation', `${check.reason}: ${check.message}`, { reason: check.reason });
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

/**
 * Judges all attestation evidence of a claim again and records a verdict when the outcome changes what the claim's
 * status should be. Claims settled by zk or replay keep their verdict unless a trusted attestation contradicts them.
 */
export async function rejudgeAttestations(ctx: AppContext, tx: Tx, claim: ClaimRow, registry: VerifierKey[], now: Date): Promise<Verdict | null> {
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
  const digests = items.map((e) => e.digest);
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
    await tx
      .insert(replayJobs)
      .values({ claimId: claim.id, kind: 'replay', state: 'queued', createdAt: now, updatedAt: now })
      .onConflictDoUpdate({
        target: [replayJobs.claimId, replayJobs.kind],
        set: { state: 'queued', leaseOwner: null, leaseExpiresAt: null, updatedAt: now },
      });
  }
  if (verdict) await recordVerdict(ctx, tx, claim, verdict, now);
  return verdict;
}

/**
 * After a key is revoked as compromised, everything it signed is judged again: every claim with attestation evidence
 * that is verified by attestation or by replay. Runs inside the revocation's transaction.
 */
export async function rejudgeAfterRevocation(ctx: AppContext, tx: Tx, key: VerifierKeyRow) {
  if (key.revocationReason !== 'compromised') return;
  const now = ctx.now();
  const registry = await loadRegistry(tx);
  const withAttestations = await tx
    .selectDistinct({ claimId: evidence.claimId })
    .from(evidence)
    .where(eq(evidence.kind, 'attestation'));
  if (withAttestations.length === 0) return;
  const affected = await tx
    .select()
    .from(claims)
    .where(and(inArray(claims.id, withAttestations.map((r) => r.claimId)), eq(claims.status, 'verified')))
    .for('update');
  for (const claim of affected) {
    if (claim.method === 'attested') await rejudgeAttestations(ctx, tx, claim, registry, now);
    else if (claim.method === 'replayed') await reopenReplayedBy(ctx, tx, claim, key, now);
  }
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
