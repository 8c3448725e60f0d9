// Scores a job's output on a thread of its own, with its own time and memory budget. The output is the untrusted
// job's: a harness input crafted to be slow or to blow up memory must end that job's claim, never stall the worker
// (its heartbeats would keep the lease alive) or take the process down (the service runs a worker in-process).
import { Worker } from 'node:worker_threads';
import { SCORING_BUDGET } from '../attest/replay-spec.ts';
import type { HarnessResult } from './harnesses.ts';
import type { ScoringReply, ScoringRequest } from './scoring-worker.ts';

const ENTRY = new URL('./scoring-thread-entry.mjs', import.meta.url);
/** How long the thread may take to load the harness before any output is given to it: the machine's own budget. */
const START_TIMEOUT_MS = 60_000;

export type ScoringBudget = { wallTimeMs: number; memoryBytes: number };

/** The machine could not run the harness at all (the thread did not start): not the job's fault. */
export class ScoringUnavailableError extends Error {
  override readonly name = 'ScoringUnavailableError';
}

/**
 * The harness's result for `output`, or `{ ok: false }` when scoring ran past its budget. Throws
 * ScoringUnavailableError when the thread failed before it was given the output.
 */
export function scoreInThread(harness: string, output: Buffer, budget: ScoringBudget = SCORING_BUDGET): Promise<HarnessResult> {
  const heapMb = Math.max(16, Math.floor(budget.memoryBytes / 1024 ** 2));
  const worker = new Worker(ENTRY, { workerData: { harness }, resourceLimits: { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: Math.min(32, heapMb) } });
  return new Promise<HarnessResult>((resolve, reject) => {
    let started = false;
    let timer = setTimeout(() => settle(() => reject(new ScoringUnavailableError('the scoring thread did not start in time'))), START_TIMEOUT_MS);
    const settle = (finish: () => void) => {
      clearTimeout(timer);
      worker.removeAllListeners();
      worker.on('error', () => undefined);
      void worker.terminate();
      finish();
    };
    worker.on('message', (reply: ScoringReply) => {
      if ('ready' in reply) {
        started = true;
        clearTimeout(timer);
        timer = setTimeout(
          () => settle(() => resolve({ ok: false, message: `scoring ran past its ${budget.wallTimeMs} ms budget` })),
          budget.wallTimeMs,
        );
        worker.postMessage({ harness, output } satisfies ScoringRequest);
        return;
      }
      settle(() => resolve(reply.result));
    });
    worker.on('error', (error: Error & { code?: string }) => {
      if (!started) return settle(() => reject(new ScoringUnavailableError(`the scoring thread failed to start: ${error.message}`)));
      const why = error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `scoring ran out of its ${heapMb} MiB memory budget` : `scoring failed: ${error.message}`;
      settle(() => resolve({ ok: false, message: why }));
    });
    worker.on('exit', (code) => {
      if (!started) settle(() => reject(new ScoringUnavailableError(`the scoring thread exited (${code}) before it started`)));
      else settle(() => resolve({ ok: false, message: `scoring stopped without a result (exit ${code})` }));
    });
  });
}
