// The replay part of a task record: which trusted harness scores the task and how its training is started, with the
// sandbox budget of one training run. Pure, so that task registration refuses a spec no worker could run (instead of
// every worker failing on it later), and so that the service can bound how long a replay job may hold its lease.
import { z } from 'zod';

/** Wall time of one training run when the task names none (the sandbox's default). */
export const DEFAULT_TRAIN_WALL_MS = 10 * 60_000;
/** Scoring one run's output with the trusted harness: its own budget, apart from the training's. */
export const SCORING_BUDGET = { wallTimeMs: 60_000, memoryBytes: 256 * 1024 ** 2 } as const;
/** Verifying and checking out the commit's bundle: four sandboxed git steps of at most two minutes each. */
const CHECKOUT_BUDGET_MS = 4 * 120_000;
/** Downloading the bundle, posting the result, and the clock skew between worker and server. */
const OVERHEAD_MS = 5 * 60_000;

export const replaySpecSchema = z
  .object({
    harness: z.string().min(1).max(64),
    // argv inside the sandbox: {seed} is replaced by the run's seed; the commit's tree is at /input, the writable
    // work folder at /work.
    train: z.array(z.string().max(512)).min(1).max(64),
    limits: z
      .object({
        wallTimeMs: z.number().int().positive().max(24 * 3_600_000),
        memoryBytes: z.number().int().positive(),
        cpuSeconds: z.number().int().positive(),
        diskBytes: z.number().int().positive().optional(),
      })
      .partial()
      .strict()
      .optional(),
  })
  .strict();
export type ReplaySpec = z.infer<typeof replaySpecSchema>;

/**
 * The longest a replay job of this spec can honestly take, from lease to result: checkout, then each run's training
 * and scoring at their full budgets. Heartbeats cannot keep a lease alive past it, so a worker stuck on a job (a bug,
 * a hung device) gives it back to the queue instead of holding its claim forever.
 */
export function replayJobBudgetMs(spec: Pick<ReplaySpec, 'limits'>, runs: number): number {
  const trainMs = spec.limits?.wallTimeMs ?? DEFAULT_TRAIN_WALL_MS;
  return CHECKOUT_BUDGET_MS + runs * (trainMs + SCORING_BUDGET.wallTimeMs) + OVERHEAD_MS;
}
