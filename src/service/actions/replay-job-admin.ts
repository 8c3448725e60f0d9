// The operator's view of the replay queue and its two actions on a job: requeue (try again from zero) and close (give
// up). A job whose leases expired or failed MAX_ATTEMPTS times is parked as `failed` by the queue (replay-jobs.ts) and
// waits here for a decision; nothing else ever moves it. Each action is audited in the transaction that makes it.
import { desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { claims, replayJobs } from '../../../db/schema.ts';
import { isInertText } from '../../attest/inert-text.ts';
import type { Tx } from '../../../db/client.ts';
import type { AppContext } from '../context.ts';
import { ServiceError } from '../errors.ts';
import { writeAudit, type Operator } from '../storage/audit-trail.ts';
import { recordVerdict } from '../storage/record-verdict.ts';
import { claimStateOf } from '../storage/apply-decision.ts';
import { nextVerdict } from '../../verdict/rules.ts';
import type { Verdict } from '../../verdict/verdict.ts';

export const JOB_STATES = ['queued', 'leased', 'done', 'failed', 'closed'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const listReplayJobsSchema = z
  .object({
    // failed is "parked": what needs the operator. all lists every state.
    state: z.enum([...JOB_STATES, 'all']).default('failed'),
    limit: z
      .string()
      .regex(/^[1-9][0-9]{0,3}$/, 'limit: an integer from 1 to 1000')
      .transform(Number)
      .refine((n) => n <= 1000, 'limit: at most 1000')
      .default(100),
  })
  .strict();

export const closeReplayJobSchema = z
  .object({
    // The reason ends up in a verdict's rule (a log leaf, shown on the web page and by recheck) and in the audit
    // trail. Control, bidirectional and lone-surrogate characters there would let the text repaint a reader's terminal
    // or reorder what a page shows (isInertText), and line separators would forge lines: refused, so what is stored is
    // exactly what the operator meant and prints as it reads.
    reason: z
      .string()
      .max(500)
      .refine((r) => r.trim().length > 0, 'give a reason')
      .refine((r) => isInertText(r) && !/[\u2028\u2029]/.test(r), 'control, line-separator and bidirectional characters are not allowed'),
  })
  .strict();

export type ReplayJobRow = typeof replayJobs.$inferSelect;
export type ReplayJobListing = ReplayJobRow & { taskId: string; claimStatus: string };

export async function listReplayJobs(ctx: AppContext, input: z.infer<typeof listReplayJobsSchema>) {
  // One row more than asked tells the caller that the list was cut.
  const rows = await ctx.db
    .select({ job: replayJobs, taskId: claims.taskId, claimStatus: claims.status })
    .from(replayJobs)
    .innerJoin(claims, eq(claims.id, replayJobs.claimId))
    .where(input.state === 'all' ? undefined : eq(replayJobs.state, input.state))
    .orderBy(desc(replayJobs.updatedAt), desc(replayJobs.id))
    .limit(input.limit + 1);
  const jobs: ReplayJobListing[] = rows.slice(0, input.limit).map((r) => ({ ...r.job, taskId: r.taskId, claimStatus: r.claimStatus }));
  return { jobs, truncated: rows.length > input.limit };
}

/** Puts a parked or queued job back in the queue with a fresh count of attempts, as if it had just been queued. */
export async function requeueReplayJob(ctx: AppContext, actor: Operator, jobId: number) {
  const now = ctx.now();
  return ctx.db.transaction(async (tx) => {
    const job = await lockJob(tx, jobId);
    assertOperable(job, now, 'requeue');
    const [row] = await tx
      .update(replayJobs)
      .set({ state: 'queued', attempts: 0, leaseOwner: null, leaseExpiresAt: null, leaseDeadlineAt: null, updatedAt: now })
      .where(eq(replayJobs.id, jobId))
      .returning();
    await writeAudit(tx, actor, 'replay_job.requeue', `replay_job:${jobId}`, { claimId: job.claimId, kind: job.kind, from: { state: job.state, attempts: job.attempts } }, now);
    return row!;
  });
}

/**
 * Gives up on a job. A replay job's claim that is still pending is rejected (`replay_abandoned`), logged like every
 * verdict: nobody could check it, and a claim must not stay pending forever. An audit job's claim is left as it is:
 * an audit that never finished is no evidence against a claim that passed its cheap checks.
 */
export async function closeReplayJob(ctx: AppContext, actor: Operator, jobId: number, input: z.infer<typeof closeReplayJobSchema>) {
  const now = ctx.now();
  return ctx.db.transaction(async (tx) => {
    // Job first, then claim: the order completeJob and failJob lock them in, so the two never deadlock.
    const job = await lockJob(tx, jobId);
    assertOperable(job, now, 'close');
    const [claim] = await tx.select().from(claims).where(eq(claims.id, job.claimId)).for('update');
    let verdict: (Verdict & { logIndex: number }) | null = null;
    const decision = nextVerdict(claimStateOf(claim!), { kind: 'replay_abandoned', job: job.kind as 'replay' | 'audit', attempts: job.attempts, reason: input.reason });
    if (decision) {
      const { logIndex } = await recordVerdict(ctx, tx, claim!, decision.verdict, now);
      verdict = { ...decision.verdict, logIndex };
    }
    const [row] = await tx
      .update(replayJobs)
      .set({ state: 'closed', leaseOwner: null, leaseExpiresAt: null, leaseDeadlineAt: null, result: { closed: { reason: input.reason } }, updatedAt: now })
      .where(eq(replayJobs.id, jobId))
      .returning();
    await writeAudit(
      tx,
      actor,
      'replay_job.close',
      `replay_job:${jobId}`,
      { ...input, claimId: job.claimId, kind: job.kind, from: { state: job.state, attempts: job.attempts }, verdictLogIndex: verdict?.logIndex ?? null },
      now,
    );
    return { job: row!, verdict };
  });
}

async function lockJob(tx: Tx, jobId: number): Promise<ReplayJobRow> {
  const [job] = await tx.select().from(replayJobs).where(eq(replayJobs.id, jobId)).for('update');
  if (!job) throw new ServiceError('not_found', `no replay job ${jobId}`);
  return job;
}

/**
 * A live lease belongs to a worker that may still deliver, and a done job already has its verdict: neither is the
 * operator's to change. A lease that ran out is nobody's (the queue hands such a job to the next worker, and the old
 * worker can no longer heartbeat or complete it), so a job stuck there when no worker asks any more can be acted on.
 */
function assertOperable(job: ReplayJobRow, now: Date, action: 'requeue' | 'close') {
  const liveLease = job.state === 'leased' && job.leaseExpiresAt !== null && job.leaseExpiresAt >= now;
  if (liveLease) {
    throw new ServiceError('conflict', `replay job ${job.id} is leased to a worker until ${job.leaseExpiresAt!.toISOString()}`, { reason: 'job_leased' });
  }
  if (job.state === 'done') throw new ServiceError('conflict', `replay job ${job.id} is done: its result stands`, { reason: 'job_done' });
  if (job.state === 'closed') throw new ServiceError('conflict', `replay job ${job.id} is already closed`, { reason: 'job_closed' });
  if (job.state !== 'failed' && job.state !== 'queued' && job.state !== 'leased') {
    throw new ServiceError('conflict', `replay job ${job.id} is ${job.state}: cannot ${action} it`, { reason: 'job_state' });
  }
}

export function toReplayJobJson(j: ReplayJobListing | ReplayJobRow) {
  return {
    id: j.id,
    kind: j.kind,
    claimId: j.claimId,
    ...('taskId' in j ? { task: j.taskId, claimStatus: j.claimStatus } : {}),
    state: j.state,
    attempts: j.attempts,
    lastError: j.lastError,
    leaseOwner: j.leaseOwner,
    leaseExpiresAt: j.leaseExpiresAt?.toISOString() ?? null,
    createdAt: j.createdAt.toISOString(),
    updatedAt: j.updatedAt.toISOString(),
  };
}
