// What the task record says about the evaluation, the trusted side of every binding a proof must match, built in one
// place from the task's stored fields so the service, a third party's recheck and the tests judge against the same
// values (a decimal string parsed two ways would be two different truths).
import type { RegisteredCircuit } from './circuit-registration.ts';

export type ZkContext = {
  circuit: RegisteredCircuit;
  metricName: string;
  /** Poseidon fold of the shard commitments (src/zk/reference-evaluator.ts evalSetLayout). */
  evalSetCommitment: bigint;
  /** Shard commitments in eval-set order; each must be proven exactly once. */
  shardCommitments: readonly bigint[];
  /** If the weights are known (published with the claim), their Poseidon commitment. */
  expectedWeightsCommitment?: bigint;
};

/** The eval-set layout as a task record or a circuit's registration stores it: decimal field elements. */
export type EvalSetLayout = { evalSetCommitment: string; shardCommitments: readonly string[] };

export function toZkContext(circuit: RegisteredCircuit, metricName: string, layout: EvalSetLayout, expectedWeightsCommitment?: bigint): ZkContext {
  return {
    circuit,
    metricName,
    evalSetCommitment: BigInt(layout.evalSetCommitment),
    shardCommitments: layout.shardCommitments.map((c) => BigInt(c)),
    ...(expectedWeightsCommitment === undefined ? {} : { expectedWeightsCommitment }),
  };
}
