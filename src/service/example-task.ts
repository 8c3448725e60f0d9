// The example task registered on first start, so that a fresh `npm start` has a task to show and to submit to.
import { tasks } from '../../db/schema.ts';
import type { TaskPolicy } from '../attest/policy.ts';
import type { AppContext } from './context.ts';
import { writeAudit } from './audit-trail.ts';

export const EXAMPLE_TASK_ID = 'digits-mlp';

export const exampleTask = {
  id: EXAMPLE_TASK_ID,
  title: 'Handwritten digits, fixed-point MLP',
  description:
    'Train a small integer MLP on the UCI optical-digits 8x8 training split (examples/digits). ' +
    'The metric is the number of correct predictions on the committed evaluation split; higher is better.',
  metricName: 'correct',
  direction: 'higher' as const,
  // The metric is an exact count computed by a deterministic integer harness, so replays must agree exactly.
  policy: {
    quorum: 2,
    direction: 'higher',
    tolerance: { absolute: 0 },
    runs: 1,
    seeds: [0],
    beatsParent: { test: 'welch-t', alpha: 0.05 },
  } satisfies TaskPolicy,
  auditFraction: 0.1,
  stampBaseBits: 12,
  replay: null,
  evalSetCommitment: null,
};

export async function seedExampleTask(ctx: AppContext): Promise<boolean> {
  return ctx.db.transaction(async (tx) => {
    const rows = await tx.insert(tasks).values(exampleTask).onConflictDoNothing().returning({ id: tasks.id });
    if (rows.length === 0) return false;
    await writeAudit(tx, { kind: 'system', name: 'first-start' }, 'task.create', `task:${exampleTask.id}`, exampleTask, ctx.now());
    return true;
  });
}
