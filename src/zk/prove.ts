// Proving for submitters: one Groth16 proof per eval shard of the digits-mlp task (its eval set is one shard), bound to
// the task, the commit and the submitter's key, returned as the evidence JSON the server verifies (src/zk/verify.ts).
import { circuitArtifacts, DIGITS_CIRCUIT_ID, DIGITS_TASK_ID, loadDigitsEvalRows } from './example-task.ts';
import {
  chainStep,
  circuitInput,
  countCorrect,
  parseWeights,
  shardCommitment,
  toShards,
  weightsCommitment,
  type DigitsWeights,
  type EvalRow,
} from './reference-evaluator.ts';
import { commitToFields, PUBLIC_SIGNALS, submitterToFields, taskToField } from './statement.ts';
import type { ZkEvidence } from './evidence-schema.ts';
import { proveGroth16 } from './snarkjs-wrapper.ts';

export type ProveOptions = {
  /** Untrusted model JSON value (parsed strictly) or already-parsed weights. */
  weights: unknown;
  task: string;
  commit: string;
  submitterPublicKeyHex: string;
  onProgress?: (done: number, total: number, stage: string) => void;
  /** Circuit artifacts fetched for a task registered through the API (src/cli/task-circuit.ts), or a test's. */
  artifacts?: { wasm: string; zkey: string };
  /** The circuit id the evidence names (default: the example task's circuit). */
  circuitId?: string;
  /** Eval rows to prove over, a multiple of the shard size (default: the task's eval set; tests use a longer one). */
  rows?: readonly EvalRow[];
};

export type ProveResult = { evidence: ZkEvidence; metric: { name: 'correct'; value: number }; weightsCommitment: string };

export async function proveClaim(opts: ProveOptions): Promise<ProveResult> {
  // Without artifacts, only the example task's circuit from circuits/build is known here.
  if (!opts.artifacts && opts.task !== DIGITS_TASK_ID) throw new Error(`task ${opts.task}: no circuit is known for it (only ${DIGITS_TASK_ID})`);
  const w: DigitsWeights = parseWeights(opts.weights);
  const art = opts.artifacts ?? circuitArtifacts(DIGITS_CIRCUIT_ID);
  const rows = opts.rows ?? loadDigitsEvalRows();
  const shards = toShards(rows);
  const progress = opts.onProgress ?? (() => {});
  const common = { task: taskToField(opts.task), ...commitToFields(opts.commit), ...submitterToFields(opts.submitterPublicKeyHex) };
  const wc = await weightsCommitment(w);
  const out: ZkEvidence['shards'] = [];
  let chain = 0n;
  // Two steps per shard, witness then proof, so that a one-shard task's progress still moves.
  const steps = 2 * shards.length;
  for (const [k, shard] of shards.entries()) {
    const of = `shard ${k + 1}/${shards.length}`;
    progress(2 * k, steps, `${of}: computing the witness`);
    const sc = await shardCommitment(shard);
    const next = await chainStep(chain, sc);
    const input = circuitInput(w, shard, { chainIn: chain, ...common });
    const { proof, publicSignals } = await proveGroth16(input, art.wasm, art.zkey, () => progress(2 * k + 1, steps, `${of}: proving`));
    // The circuit and the reference evaluator must agree; a difference is a bug, not a submitter error.
    const expected = [wc, sc, next, BigInt(countCorrect(w, shard)), chain, common.task, common.commitHi, common.commitLo, common.commitLen, common.submitterHi, common.submitterLo];
    if (publicSignals.length !== PUBLIC_SIGNALS.length || publicSignals.some((s, i) => BigInt(s) !== expected[i])) {
      throw new Error(`shard ${k}: circuit output differs from the reference evaluator`);
    }
    out.push({ proof, publicSignals });
    chain = next;
  }
  progress(steps, steps, 'done');
  return {
    evidence: { type: 'zk', circuit: opts.circuitId ?? DIGITS_CIRCUIT_ID, shards: out },
    metric: { name: 'correct', value: countCorrect(w, rows) },
    weightsCommitment: wc.toString(10),
  };
}
