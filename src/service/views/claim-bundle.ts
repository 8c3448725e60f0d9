// The re-check bundle: the signed claim exactly as received, every piece of evidence, the task and its circuits,
// the verifier registry, and the verdict history with the log leaves that commit to it.
import { asc, eq, inArray } from 'drizzle-orm';
import { circuits, logLeaves } from '../../../db/schema.ts';
import type { AppContext } from '../context.ts';
import { getClaim, toClaimJson, type ClaimView } from './read-claims.ts';
import { getTask, type TaskRow } from '../actions/tasks.ts';
import { listVerifierKeys, toVerifierKeyJson, type VerifierKeyRow } from '../actions/verifier-keys.ts';
import { bundleLogProofs } from './log-bundle.ts';
import { parentClaimOf } from '../judging/parent-runs.ts';

export async function getClaimBundle(ctx: AppContext, claimId: string) {
  const view = await getClaim(ctx, claimId);
  const task = await getTask(ctx, view.claim.taskId);
  const taskPart = await bundleTaskPart(ctx, task);
  // The task's own leaves (its definition, its circuits' registrations) ride with the verdict leaves: a re-check proves
  // the policy, pins and keys it judges with are the ones logged at registration (src/recheck/task-definition.ts,
  // logged-circuits.ts), not the server's word today.
  const indexes = [...taskLeafIndexes(taskPart), ...view.verdicts.map((v) => v.logIndex).filter((i): i is number => i !== null)];
  const leaves = indexes.length
    ? await ctx.db.select().from(logLeaves).where(inArray(logLeaves.index, indexes)).orderBy(asc(logLeaves.index))
    : [];
  const { claim, envelope, intake, evidence, parent } = await bundleClaimPart(ctx, view);
  return {
    claim,
    envelope,
    intake,
    evidence,
    task: taskPart,
    verifierKeys: bundleRegistryPart(await listVerifierKeys(ctx)),
    parent,
    // Leaves first, then the checkpoint: every committed leaf is covered by the latest checkpoint (log-append.ts).
    log: await bundleLogProofs(ctx, leaves),
  };
}

// The parts of a bundle, shared with the bulk reads (bulk-bundles.ts), so that both serve the same fields.

/** What is the claim's own: the claim, its signed envelopes, its evidence and, for a beats-parent claim, the parent. */
export async function bundleClaimPart(ctx: AppContext, view: ClaimView) {
  return {
    claim: toClaimJson(view, ctx.now()),
    envelope: view.claim.envelope,
    // The submitter's signature binding the claim to the evidence it came with and to this log (src/attest/intake.ts).
    intake: view.claim.intakeEnvelope,
    evidence: view.evidence.map((e) => ({ kind: e.kind, digest: e.digest, body: e.body, receivedAt: e.receivedAt.toISOString() })),
    // A beats-parent claim is judged against its parent's runs: the parent's signed claim and signed attestations, so
    // that a re-check computes those runs itself.
    parent: await parentOf(ctx, view.claim),
  };
}

/** The task as a re-check needs it: policy, replay and pack pins, circuits with their keys. */
export async function bundleTaskPart(ctx: AppContext, task: TaskRow) {
  const taskCircuits = await ctx.db.select().from(circuits).where(eq(circuits.taskId, task.id)).orderBy(asc(circuits.id));
  return {
    id: task.id,
    metricName: task.metricName,
    direction: task.direction,
    policy: task.policy,
    replay: task.replay,
    pack: task.pack,
    evalSetCommitment: task.evalSetCommitment,
    // Where the task's definition leaf is (null: registered before definitions were logged).
    definitionLogIndex: task.definitionLogIndex,
    // logIndex: the circuit's registration leaf (null for a circuit registered with the code, pinned by it).
    circuits: taskCircuits.map((k) => ({ id: k.id, protocol: k.protocol, vkeySha256: k.vkeySha256, vkey: k.vkey, params: k.params, logIndex: k.logIndex })),
  };
}

/** The log entries that registered the task and its circuits, which every bundle of the task carries. */
export function taskLeafIndexes(task: { definitionLogIndex: number | null; circuits: { logIndex: number | null }[] }): number[] {
  return [task.definitionLogIndex, ...task.circuits.map((c) => c.logIndex)].filter((i): i is number => i !== null);
}

/** The verifier registry; registeredAt lets a re-check refuse trust granted after the fact (a back-dated validFrom). */
export function bundleRegistryPart(keys: readonly VerifierKeyRow[]) {
  return keys.map((k) => ({ ...toVerifierKeyJson(k), registeredAt: k.createdAt.toISOString() }));
}

async function parentOf(ctx: AppContext, claim: { taskId: string; beatsParent: boolean; parent: string | null }) {
  const parent = await parentClaimOf(ctx.db, { id: claim.taskId }, claim);
  if (!parent) return null;
  return {
    id: parent.claim.id,
    envelope: parent.claim.envelope,
    method: parent.claim.method,
    evidence: parent.attestations.map((e) => ({ kind: e.kind, digest: e.digest, body: e.body, receivedAt: e.receivedAt.toISOString() })),
  };
}
