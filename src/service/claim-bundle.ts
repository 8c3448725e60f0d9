// The re-check bundle: the signed claim exactly as received, every piece of evidence, the task and its circuits,
// the verifier registry, and the verdict history with the log leaves that commit to it.
import { asc, eq, inArray } from 'drizzle-orm';
import { circuits, logLeaves } from '../../db/schema.ts';
import type { AppContext } from './context.ts';
import { getClaim, toClaimJson } from './read-claims.ts';
import { getTask } from './tasks.ts';
import { listVerifierKeys, toVerifierKeyJson } from './verifier-keys.ts';

export async function getClaimBundle(ctx: AppContext, claimId: string) {
  const view = await getClaim(ctx, claimId);
  const task = await getTask(ctx, view.claim.taskId);
  const taskCircuits = await ctx.db.select().from(circuits).where(eq(circuits.taskId, task.id)).orderBy(asc(circuits.id));
  const indexes = view.verdicts.map((v) => v.logIndex).filter((i): i is number => i !== null);
  const leaves = indexes.length
    ? await ctx.db.select().from(logLeaves).where(inArray(logLeaves.index, indexes)).orderBy(asc(logLeaves.index))
    : [];
  return {
    claim: toClaimJson(view, ctx.now()),
    envelope: view.claim.envelope,
    evidence: view.evidence.map((e) => ({ kind: e.kind, digest: e.digest, body: e.body, receivedAt: e.receivedAt.toISOString() })),
    task: {
      id: task.id,
      metricName: task.metricName,
      direction: task.direction,
      policy: task.policy,
      evalSetCommitment: task.evalSetCommitment,
      circuits: taskCircuits.map((k) => ({ id: k.id, protocol: k.protocol, vkeySha256: k.vkeySha256, vkey: k.vkey, params: k.params })),
    },
    verifierKeys: (await listVerifierKeys(ctx)).map(toVerifierKeyJson),
    log: { leaves: leaves.map((l) => ({ index: l.index, leafHash: l.leafHash, data: l.data })) },
  };
}
