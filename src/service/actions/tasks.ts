// Tasks: registered by operators, read by everyone.
import { asc, eq } from 'drizzle-orm';
import { utf8 } from '../../attest/bytes.ts';
import { taskDefinitionLeafText, taskDefinitionSchema, type TaskDefinition } from '../../attest/task-pack.ts';
import { circuits, tasks } from '../../../db/schema.ts';
import { appendLogLeaves } from '../storage/log-append.ts';
import { packFileProblems } from '../storage/pack-files.ts';
import { trustServiceWorkersFor } from './service-worker-key.ts';
import type { AppContext } from '../context.ts';
import { ServiceError } from '../errors.ts';
import { writeAudit, type Operator } from '../storage/audit-trail.ts';

/**
 * A task as an operator registers it: src/attest/task-pack.ts's definition (pure, so the CLI refuses a bad pack before
 * uploading anything and recheck reads the same fields). Every problem is reported at once.
 */
export const createTaskSchema = taskDefinitionSchema;
export type CreateTaskInput = TaskDefinition;

export type TaskRow = typeof tasks.$inferSelect;

export async function createTask(ctx: AppContext, actor: Operator, input: CreateTaskInput): Promise<TaskRow> {
  const pack = input.pack ?? null;
  // Before the transaction: a pack whose files are not all stored (or not hidden where they must be) is refused with
  // every missing file named, and nothing is written.
  if (pack) {
    const problems = await packFileProblems(ctx, pack);
    if (problems.length > 0) throw new ServiceError('bad_task', `the task pack has ${problems.length} problem(s)`, { problems });
  }
  return ctx.db.transaction(async (tx) => {
    const now = ctx.now();
    const inserted = await tx
      .insert(tasks)
      .values({ ...input, pack, createdAt: now })
      .onConflictDoNothing()
      .returning();
    const row = inserted[0];
    if (!row) throw new ServiceError('task_exists', `task ${input.id} already exists`);
    // The definition with all its pins is a leaf of the log, in the same transaction as the task: no verdict of the
    // task can be logged before what it was judged against.
    const leaf = taskDefinitionLeafText({ ...input, pack }, now.toISOString());
    const [index] = await appendLogLeaves(ctx, tx, [{ data: utf8(leaf), claimId: '' }]);
    const [stored] = await tx.update(tasks).set({ definitionLogIndex: index! }).where(eq(tasks.id, row.id)).returning();
    await writeAudit(tx, actor, 'task.create', `task:${input.id}`, { ...input, pack, definitionLogIndex: index }, now);
    if (input.replay !== null) await trustServiceWorkersFor(tx, input.id, now);
    return stored!;
  });
}

export async function listTasks(ctx: AppContext): Promise<TaskRow[]> {
  return ctx.db.select().from(tasks).orderBy(asc(tasks.id));
}

export async function getTask(ctx: AppContext, id: string): Promise<TaskRow> {
  const [row] = await ctx.db.select().from(tasks).where(eq(tasks.id, id));
  if (!row) throw new ServiceError('unknown_task', `no task ${JSON.stringify(id)}`);
  return row;
}

export async function listCircuits(ctx: AppContext, taskId: string) {
  return ctx.db.select().from(circuits).where(eq(circuits.taskId, taskId)).orderBy(asc(circuits.id));
}
