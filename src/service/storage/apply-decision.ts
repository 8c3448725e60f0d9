// Carries out what the verdict rules (src/verdict/rules.ts) decided for one claim, inside the caller's transaction:
// the verdict with its log leaf, then the follow-ups the rules named. The rules decide; this file only writes.
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Tx } from '../../../db/client.ts';
import { claims, evidence, replayJobs, verdicts, verifierKeys } from '../../../db/schema.ts';
import { verifyAttestation } from '../../attest/verify-attestations.ts';
import { AUDIT_AGREED, type ClaimState, type Decision } from '../../verdict/rules.ts';
import type { ClaimStatus, Verdict, VerificationMethod } from '../../verdict/verdict.ts';
import { claimPayloadOf } from '../judging/claim-payload.ts';
import type { AppContext } from '../context.ts';
import { recordVerdict, type ClaimRow } from './record-verdict.ts';
import { loadRegistry } from './registry.ts';

const STATUSES: readonly string[] = ['pending', 'verified', 'rejected', 'disputed'] satisfies ClaimStatus[];
const METHODS: readonly string[] = ['zk', 'attested', 'replayed'] satisfies VerificationMethod[];

/** A claim row as the rules see it. A status the rules do not know means the database was altered behind our back. */
export function claimStateOf(claim: Pick<ClaimRow, 'id' | 'status' | 'method' | 'reasonCode' | 'auditedAt'>): ClaimState {
  if (!STATUSES.includes(claim.status) || (claim.method !== null && !METHODS.includes(claim.method))) {
    throw new Error(`claim ${claim.id} has status ${claim.status}/${claim.method}, which no rule produces`);
  }
  return { status: claim.status as ClaimStatus, method: claim.method as VerificationMethod | null, reasonCode: claim.reasonCode, audited: claim.auditedAt !== null };
}

/** Records the decision's verdict and carries out its follow-ups; returns the verdict (null for no decision). */
export async function applyDecision(ctx: AppContext, tx: Tx, claim: ClaimRow, decision: Decision | null, now: Date): Promise<Verdict | null> {
  if (!decision) return null;
  // Attesters are found from the verdict that vouched for the claim, so before the dispute replaces it.
  if (decision.then.includes('penalize_attesters')) await penalizeAttesters(tx, claim, now);
  await recordVerdict(ctx, tx, claim, decision.verdict, now);
  if (decision.then.includes('queue_replay')) await queueReplay(tx, claim.id, now);
  if (decision.then.includes('mark_audited')) await tx.update(claims).set({ auditedAt: now }).where(eq(claims.id, claim.id));
  // The badge says an audit agreed with a verified claim: it goes with the claim's verification, or with the audit.
  const leaves = decision.verdict.status !== 'verified' && claim.auditedAt !== null;
  if (leaves || decision.then.includes('withdraw_audit')) await tx.update(claims).set({ auditedAt: null }).where(eq(claims.id, claim.id));
  if (decision.then.includes('withdraw_audit')) await queueJob(tx, claim.id, 'audit', now);
  return decision.verdict;
}

/** Queues a replay of the claim, or puts its replay job back in the queue with a fresh count of attempts. */
async function queueReplay(tx: Tx, claimId: string, now: Date) {
  await queueJob(tx, claimId, 'replay', now);
}

async function queueJob(tx: Tx, claimId: string, kind: 'replay' | 'audit', now: Date) {
  await tx
    .insert(replayJobs)
    .values({ claimId, kind, state: 'queued', createdAt: now, updatedAt: now })
    .onConflictDoUpdate({
      target: [replayJobs.claimId, replayJobs.kind],
      set: { state: 'queued', leaseOwner: null, leaseExpiresAt: null, leaseDeadlineAt: null, attempts: 0, updatedAt: now },
    });
}

// A disputed entry counts against every verifier whose attestation had vouched for it. The signers are found by
// verifying the counted attestations again, never from their keyid hints.
async function penalizeAttesters(tx: Tx, claim: ClaimRow, now: Date) {
  // The verdict that verified the claim, not a later audit's (agreed or withdrawn): its evidence is what vouched.
  const verified = await tx
    .select()
    .from(verdicts)
    .where(and(eq(verdicts.claimId, claim.id), eq(verdicts.status, 'verified')))
    .orderBy(desc(verdicts.id));
  const last = verified.find((v) => v.method === claim.method && v.evidenceDigests.length > 0 && !v.rule.startsWith(AUDIT_AGREED));
  if (!last) return;
  const items = await tx.select().from(evidence).where(and(eq(evidence.claimId, claim.id), eq(evidence.kind, 'attestation')));
  const registry = await loadRegistry(tx);
  const payload = claimPayloadOf(claim);
  const ids = new Set<string>();
  for (const e of items.filter((i) => last.evidenceDigests.includes(i.digest))) {
    const check = verifyAttestation((e.body as { envelope?: unknown }).envelope, { claim: payload, claimId: claim.id, registry, receivedAt: e.receivedAt, now });
    if (check.ok) for (const id of check.verifierKeyIds) ids.add(id);
  }
  if (ids.size) await tx.update(verifierKeys).set({ reputation: sql`${verifierKeys.reputation} - 5` }).where(inArray(verifierKeys.id, [...ids]));
}
