// A test-only eval set of two shards: the example task's eval set is one shard (one proof per claim), but the
// verifier's shard rules (each shard once, in chain order, metrics summed) hold for any number of shards and need
// real multi-shard proofs to test. Rows: examples/digits/eval.csv, then the first 64 rows of train.csv.
import { readFileSync } from 'node:fs';
import type { RegisteredCircuit } from '../../src/zk/circuit-registration.ts';
import { loadDigitsEvalRows } from '../../src/zk/example-task.ts';
import { evalSetLayout, METRIC_NAME, parseDigitsCsv, SHARD_SIZE, type EvalRow } from '../../src/zk/reference-evaluator.ts';
import { toZkContext, type ZkContext } from '../../src/zk/zk-context.ts';

export function shardedRows(): EvalRow[] {
  const train = parseDigitsCsv(readFileSync(new URL('../../examples/digits/train.csv', import.meta.url), 'utf8'));
  return [...loadDigitsEvalRows(), ...train.slice(0, SHARD_SIZE)];
}

/** The verification context of a task whose eval set is shardedRows(). */
export async function shardedContext(circuit: RegisteredCircuit, expectedWeightsCommitment?: bigint): Promise<ZkContext> {
  const layout = await evalSetLayout(shardedRows());
  const stored = { evalSetCommitment: layout.evalSetCommitment.toString(10), shardCommitments: layout.shardCommitments.map((c) => c.toString(10)) };
  return toZkContext(circuit, METRIC_NAME, stored, expectedWeightsCommitment);
}
