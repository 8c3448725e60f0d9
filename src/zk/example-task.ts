// The example task `digits-mlp` as the server registers it on first start and as provers and rechecks load it:
// task id, metric, eval-set commitment, and the circuit from circuits/build with its verification key pinned here.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { evalSetLayout, METRIC_NAME, parseDigitsCsv, type EvalRow } from './reference-evaluator.ts';
import { registerCircuit, type RegisteredCircuit } from './circuit-registration.ts';

export const DIGITS_TASK_ID = 'digits-mlp';
export const DIGITS_CIRCUIT_ID = 'digits-mlp';

/**
 * SHA-256 of circuits/build/digits-mlp/digits-mlp.vkey.json, pinned in code: a verification key swapped on disk
 * (with a matching manifest) is refused at load. Update only together with a new, documented setup.
 */
export const DIGITS_VKEY_SHA256 = '345d114749984679b6db127dec4849e07cce31867497f5ec6ca91081e9781ce7';

const root = fileURLToPath(new URL('../../', import.meta.url));
const CIRCUITS_BUILD_DIR = `${root}circuits/build`;
export const DIGITS_EVAL_CSV = `${root}examples/digits/eval.csv`;

export function circuitArtifacts(id: string): { wasm: string; zkey: string; vkey: string } {
  const d = `${CIRCUITS_BUILD_DIR}/${id}/${id}`;
  return { wasm: `${d}.wasm`, zkey: `${d}.zkey`, vkey: `${d}.vkey.json` };
}

export function loadCircuit(id: string, pinnedSha256: string): RegisteredCircuit {
  return registerCircuit(id, readFileSync(circuitArtifacts(id).vkey, 'utf8'), pinnedSha256);
}

export function loadDigitsEvalRows(): EvalRow[] {
  return parseDigitsCsv(readFileSync(DIGITS_EVAL_CSV, 'utf8'));
}

export type ExampleTask = {
  taskId: string;
  title: string;
  metric: { name: string; direction: 'max' };
  /** Decimal field elements. */
  evalSetCommitment: string;
  shardCommitments: string[];
  evalRows: number;
  circuit: RegisteredCircuit;
};

let cached: Promise<ExampleTask> | undefined;

/** Everything the server stores for the example task. Computes the Poseidon layout once (about a second). */
export function loadExampleTask(): Promise<ExampleTask> {
  cached ??= (async () => {
    const rows = loadDigitsEvalRows();
    const layout = await evalSetLayout(rows);
    return {
      taskId: DIGITS_TASK_ID,
      title: 'UCI optical digits, fixed-point 16-8-10 MLP, eval rows correct',
      metric: { name: METRIC_NAME, direction: 'max' },
      evalSetCommitment: layout.evalSetCommitment.toString(10),
      shardCommitments: layout.shardCommitments.map((c) => c.toString(10)),
      evalRows: rows.length,
      circuit: loadCircuit(DIGITS_CIRCUIT_ID, DIGITS_VKEY_SHA256),
    };
  })();
  return cached;
}
