// The parent's runs of a "beats its parent" claim: what the rules compare the claim's runs with (a one-sided t-test,
// src/attest/verify-attestations.ts). They are taken from the parent's own signed evidence, judged again here, never
// from a number the submitter or the database states.
import { and, asc, eq } from 'drizzle-orm';
import type { Db, Tx } from '../../../db/client.ts';
import { claims, evidence } from '../../../db/schema.ts';
import type { ClaimPayload } from '../../attest/claim.ts';
import { taskPolicySchema } from '../../attest/policy.ts';
import type { VerifierKey } from '../../attest/registry.ts';
import { judgeAttestations, perSeedMeans } from '../../attest/verify-attestations.ts';
import { environmentPinsOf } from '../../attest/task-pack.ts';
import { replayPolicy } from '../../verdict/rules.ts';
import { claimPayloadOf } from './claim-payload.ts';
import type { TaskRow } from '../actions/tasks.ts';

/**
 * One value per seed of the parent's counted attestations (its quorum's, or its replay's), or null when the claim
 * does not beat a parent or no verified claim of the task has the parent commit (the test then cannot run, and the
 * claim stays unsettled). A parent verified by a zero-knowledge proof has no runs: it was measured once, exactly.
 */
export async function parentRunsOf(
  db: Db | Tx,
  task: TaskRow,
  claim: Pick<ClaimPayload, 'beatsParent' | 'parent'>,
  registry: readonly VerifierKey[],
  now: Date,
): Promise<number[] | null> {
  const parent = await parentClaimOf(db, task, claim);
  if (!parent) return null;
  const policy = taskPolicySchema.parse(task.policy);
  const judged = judgeAttestations({
    claim: claimPayloadOf(parent.claim),
    claimId: parent.claim.id,
    envelopes: parent.attestations.map((e) => ({ envelope: (e.body as { envelope?: unknown }).envelope, receivedAt: e.receivedAt })),
    registry,
    policy: parent.claim.method === 'replayed' ? replayPolicy(policy) : policy,
    now,
    pins: environmentPinsOf(task.pack),
  });
  return perSeedMeans(judged.counted);
}

/**
 * The claim a beats-parent claim is compared with: the earliest verified claim of its task for the parent commit.
 * The earliest, so that more claims verified later for the same commit cannot move a child's baseline.
 */
export async function parentClaimOf(db: Db | Tx, task: Pick<TaskRow, 'id'>, claim: Pick<ClaimPayload, 'beatsParent' | 'parent'>) {
  if (!claim.beatsParent || claim.parent === null) return null;
  const [parent] = await db
    .select()
    .from(claims)
    .where(and(eq(claims.taskId, task.id), eq(claims.commit, claim.parent), eq(claims.status, 'verified')))
    .orderBy(asc(claims.receivedAt), asc(claims.id))
    .limit(1);
  if (!parent) return null;
  const attestations = await db
    .select()
    .from(evidence)
    .where(and(eq(evidence.claimId, parent.id), eq(evidence.kind, 'attestation')))
    .orderBy(asc(evidence.id));
  return { claim: parent, attestations };
}
