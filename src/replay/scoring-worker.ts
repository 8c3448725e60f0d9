// Body of a scoring thread: scores one output with a trusted harness and answers once. Everything the harness throws
// is an answer too (the output it was given is the job's), so only a thread that cannot start is the machine's fault.
import { parentPort, workerData } from 'node:worker_threads';
import { harnessById, type HarnessResult } from './harnesses.ts';

export type ScoringRequest = { harness: string; output: Uint8Array };
export type ScoringReply = { ready: true } | { result: HarnessResult };

const port = parentPort!;
port.once('message', (request: ScoringRequest) => {
  let result: HarnessResult;
  try {
    const harness = harnessById(request.harness);
    result = harness ? harness.evaluate(Buffer.from(request.output)) : { ok: false, message: `no harness ${request.harness}` };
  } catch (error) {
    result = { ok: false, message: `the harness refused the output: ${error instanceof Error ? error.message : String(error)}` };
  }
  port.postMessage({ result } satisfies ScoringReply);
});
// Loading the harness (its data, its digests) happens before "ready", so a slow start is not charged to the output.
harnessById((workerData as { harness: string }).harness);
port.postMessage({ ready: true } satisfies ScoringReply);
