// Trusted evaluation harnesses, by the id a task's replay spec names. A harness reads what the untrusted training
// produced as data, with strict size and shape limits, and computes the score itself: the number the submitted code
// prints is never the score.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { countCorrect, parseWeightsJson } from '../zk/reference-evaluator.ts';
import { DIGITS_EVAL_CSV, loadDigitsEvalRows } from '../zk/example-task.ts';

export type HarnessResult = { ok: true; value: number } | { ok: false; message: string };

export type Harness = {
  id: string;
  metric: string;
  /** The file training must leave in its work folder, and the most bytes of it the harness will read. */
  output: { path: string; maxBytes: number };
  evaluate(output: Buffer): HarnessResult;
  /** What a verifier attests it ran: the harness code and the evaluation data, by SHA-256. */
  harnessSha256: string;
  datasetSha256: string;
};

const sha256File = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

function digitsHarness(): Harness {
  const rows = loadDigitsEvalRows();
  return {
    id: 'digits-mlp-v1',
    metric: 'correct',
    output: { path: 'model.json', maxBytes: 16 * 1024 },
    evaluate(output) {
      try {
        return { ok: true, value: countCorrect(parseWeightsJson(output), rows) };
      } catch (e) {
        return { ok: false, message: `model.json rejected: ${e instanceof Error ? e.message : String(e)}` };
      }
    },
    harnessSha256: sha256File(fileURLToPath(new URL('../zk/reference-evaluator.ts', import.meta.url))),
    datasetSha256: sha256File(DIGITS_EVAL_CSV),
  };
}

const factories: Record<string, () => Harness> = { 'digits-mlp-v1': digitsHarness };
const cache = new Map<string, Harness>();

export function harnessById(id: string): Harness | null {
  const make = factories[id];
  if (!make) return null;
  let h = cache.get(id);
  if (!h) cache.set(id, (h = make()));
  return h;
}
