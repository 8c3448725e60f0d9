// Tasks: registered by operators, read by everyone.
import { asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { taskIdSchema } from '../../attest/claim.ts';
import { taskPolicySchema } from '../../attest/policy.ts';
import { replaySpecSchema } from '../../attest/replay-spec.ts';
import { circuits, tasks } from '../../../db/schema.ts';
import type { AppContext } from '../context.ts';
import { ServiceError } from '../errors.ts';
import { writeAudit, type Operator } from '../storage/audit-trail.ts';

export const createTaskSchema = z
  .object({
    id: taskIdSchema,
    title: z.string().min(1).max(200),
    description: z.string().max(4000).default(''),
    metricName: z.string().regex(/^[a-z][a-z0-9_]{0,31}$/),
    direction: z.enum(['higher', 'lower']),
    policy: taskPolicySchema,
    auditFraction: z.number().min(0).max(1).default(0),
    stampBaseBits: z.number().int().min(0).max(40).default(0),
    // Checked here, so a spec no worker can run is refused at registration instead of failing every replay job later.
    replay: replaySpecSchema.nullable().default(null),
    evalSetCommitment: z.string().max(200).nullable().default(null),
  })
  .strict()
  .refine((t) => t.policy.direction === t.direction, { message: 'policy.direction must equal direction', path: ['policy', 'direction'] });
export type CreateTaskInput = z.infer<typeof createTaskSchema>;

export type TaskRow = typeof tasks.$inferSelect;

export async function createTask(ctx: AppContext, actor: Operator, input: CreateTaskInput): Promise<TaskRow> {
  return ctx.db.transaction(async (tx) => {
    const inserted = await tx
      .insert(tasks)
      .values({ ...input, createdAt: ctx.now() })
      .onConflictDoNothing()
      .returning();
    const row = inserted[0];
    if (!row) throw new ServiceError('task_exists', `task ${input.id} already exists`);
    await writeAudit(tx, actor, 'task.create', `task:${input.id}`, input, ctx.now());
    return row;
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
