// Every public signal of a claim's proofs against the claim and the task record (docs/zk.md, "Public signals"): the
// statements must name this task, commit and submitter, one model, every eval shard exactly once in chain order, and
// add up to the claimed metric. Groth16 binds the public inputs, so these checks are what tie a valid proof to this
// claim rather than to any claim.
import type { ClaimPayload } from '../attest/claim.ts';
import { commitToFields, submitterToFields, taskToField, type Statement } from './statement.ts';
import type { ZkContext } from './zk-context.ts';

export type BindingReason =
  | 'zk_binding_task'
  | 'zk_binding_commit'
  | 'zk_binding_submitter'
  | 'zk_binding_metric'
  | 'zk_binding_weights'
  | 'zk_shard_coverage';

/** The first way the statements fail to bind to the claim and the task, in the order docs/zk.md lists; undefined if they bind. */
export function findBindingProblem(
  statements: readonly Statement[],
  claim: ClaimPayload,
  ctx: ZkContext,
): { reason: BindingReason; message: string } | undefined {
  const deny = (reason: BindingReason, message: string) => ({ reason, message });
  if (claim.metric.name !== ctx.metricName) return deny('zk_binding_metric', `claim metric ${claim.metric.name}, task metric ${ctx.metricName}`);
  const task = taskToField(claim.task);
  const commit = commitToFields(claim.commit);
  const who = submitterToFields(claim.submitter);
  for (const [i, st] of statements.entries()) {
    if (st.task !== task) return deny('zk_binding_task', `shards[${i}] is for another task`);
    if (st.commitHi !== commit.commitHi || st.commitLo !== commit.commitLo || st.commitLen !== commit.commitLen) {
      return deny('zk_binding_commit', `shards[${i}] is for another commit`);
    }
    if (st.submitterHi !== who.submitterHi || st.submitterLo !== who.submitterLo) {
      return deny('zk_binding_submitter', `shards[${i}] is for another submitter`);
    }
  }
  // One model for the whole set: mixing models across shards would add up the best shard of each.
  const w = statements[0]!.weightsCommitment;
  if (statements.some((s) => s.weightsCommitment !== w)) return deny('zk_binding_weights', 'shards prove different models');
  if (ctx.expectedWeightsCommitment !== undefined && w !== ctx.expectedWeightsCommitment) {
    return deny('zk_binding_weights', 'proofs are for other weights than the published ones');
  }

  // Coverage: every shard of the task exactly once, linked 0 -> ... -> evalSetCommitment.
  const index = new Map(ctx.shardCommitments.map((c, k) => [c, k]));
  const order: number[] = new Array(ctx.shardCommitments.length).fill(-1);
  for (const [i, st] of statements.entries()) {
    const k = index.get(st.shardCommitment);
    if (k === undefined) return deny('zk_shard_coverage', `shards[${i}] proves a shard that is not in the task's eval set`);
    if (order[k] !== -1) return deny('zk_shard_coverage', `eval shard ${k} is proven twice`);
    order[k] = i;
  }
  const missing = order.indexOf(-1);
  if (missing >= 0) return deny('zk_shard_coverage', `eval shard ${missing} is not proven`);
  let chain = 0n;
  for (const [k, i] of order.entries()) {
    const st = statements[i]!;
    if (st.chainIn !== chain) return deny('zk_shard_coverage', `eval shard ${k} does not chain from the previous shard`);
    chain = st.chainOut;
  }
  if (chain !== ctx.evalSetCommitment) return deny('zk_shard_coverage', 'shard chain does not end at the task eval-set commitment');

  const total = statements.reduce((s, st) => s + st.correct, 0n);
  if (total > BigInt(Number.MAX_SAFE_INTEGER) || Number(total) !== claim.metric.value) {
    return deny('zk_binding_metric', `proofs show ${ctx.metricName} = ${total}, the claim says ${claim.metric.value}`);
  }
  return undefined;
}
