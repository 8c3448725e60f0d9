// The stamp difficulty a task asks for right now: its base, raised with the depth of the replay queue so that a
// flood makes each further replay-bound claim more expensive for the sender, and falling back as the queue drains.
import type { AppContext } from '../context.ts';
import { queueDepth } from '../actions/replay-jobs.ts';
import type { TaskRow } from '../actions/tasks.ts';

/** One extra bit (twice the work) each time the queue doubles past this many jobs. */
export const QUEUE_STEP = 8;

export function difficultyFor(baseBits: number, depth: number): number {
  return baseBits + Math.max(0, Math.floor(Math.log2(1 + depth / QUEUE_STEP)));
}

export async function currentDifficulty(ctx: AppContext, task: Pick<TaskRow, 'stampBaseBits'>) {
  const depth = await queueDepth(ctx);
  return { bits: difficultyFor(task.stampBaseBits, depth), baseBits: task.stampBaseBits, queueDepth: depth };
}
