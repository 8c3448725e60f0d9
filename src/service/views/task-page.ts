// Read side of the web page: what a person looking at the task list, a leaderboard or one claim needs, built on the
// existing read functions (leaderboard, claim view) plus the few things they leave out (disputed entries, audits,
// history for the chart, log leaves, pending state). Read-only: nothing here writes. The task list and the task
// page are cached (read-cache.ts: they read tasks, claims and verdicts only, and nothing here depends on the clock);
// the claim page is not (it reads evidence, replay jobs and log leaves, and its pending state depends on "now").
import { and, asc, count, eq, inArray, isNotNull, max, min, sql } from 'drizzle-orm';
import { claims, logLeaves, tasks, verdicts } from '../../../db/schema.ts';
import { taskPolicySchema, type TaskPolicy } from '../../attest/policy.ts';
import { submissionContractOf } from '../../attest/task-pack.ts';
import type { AppContext } from '../context.ts';
import { getLeaderboard } from './leaderboard.ts';
import { getClaim, type ClaimView } from './read-claims.ts';
import { getTask, listTasks, type TaskRow } from '../actions/tasks.ts';
import { cachedRead } from '../storage/read-cache.ts';

export type TaskSummary = {
  id: string;
  title: string;
  description: string;
  metricName: string;
  direction: 'higher' | 'lower';
  counts: Record<'pending' | 'verified' | 'rejected' | 'disputed', number>;
  best: number | null;
};

export function listTaskSummaries(ctx: AppContext): Promise<TaskSummary[]> {
  return cachedRead(ctx, 'task-summaries', () => readTaskSummaries(ctx));
}

async function readTaskSummaries(ctx: AppContext): Promise<TaskSummary[]> {
  const rows = await listTasks(ctx);
  const grouped = await ctx.db
    .select({ taskId: claims.taskId, status: claims.status, n: count(), hi: max(claims.metricValue), lo: min(claims.metricValue) })
    .from(claims)
    .groupBy(claims.taskId, claims.status);
  return rows.map((t) => {
    const direction = toDirection(t.direction);
    const counts = { pending: 0, verified: 0, rejected: 0, disputed: 0 };
    let best: number | null = null;
    for (const g of grouped.filter((x) => x.taskId === t.id)) {
      if (g.status in counts) counts[g.status as keyof typeof counts] = Number(g.n);
      if (g.status === 'verified') best = direction === 'higher' ? g.hi : g.lo;
    }
    return { id: t.id, title: t.title, description: t.description, metricName: t.metricName, direction, counts, best };
  });
}

export type ChartPoint = { at: string; best: number; claimId: string };

/** How many disputed entries and history points a page shows at most: the page stays small whatever the crowd does. */
const DISPUTED_LIMIT = 50;
const HISTORY_LIMIT = 2000;

/** The data of a task's page (shared with other readers when cached: read-only). */
export function getTaskPage(ctx: AppContext, taskId: string, limit = 100): Promise<TaskPage> {
  return cachedRead(ctx, `task-page:${limit}:${taskId}`, () => readTaskPage(ctx, taskId, limit));
}

async function readTaskPage(ctx: AppContext, taskId: string, limit: number) {
  // getTask first: an unknown task is one cheap query and a clear error, before the others run.
  const task = await getTask(ctx, taskId);
  const direction = toDirection(task.direction);
  // The remaining reads are independent: on PostgreSQL they run concurrently on the pool.
  const [board, disputed, pending, history] = await Promise.all([
    getLeaderboard(ctx, taskId, limit),
    ctx.db
      .select()
      .from(claims)
      .where(and(eq(claims.taskId, taskId), eq(claims.status, 'disputed')))
      .orderBy(asc(claims.receivedAt), asc(claims.id))
      .limit(DISPUTED_LIMIT),
    ctx.db
      .select({ n: count() })
      .from(claims)
      .where(and(eq(claims.taskId, taskId), eq(claims.status, 'pending'))),
    bestOverTime(ctx, taskId, direction),
  ]);
  const ids = board.entries.map((e) => e.claimId);
  const audited = ids.length
    ? await ctx.db
        .select({ id: claims.id })
        .from(claims)
        .where(and(inArray(claims.id, ids), isNotNull(claims.auditedAt)))
    : [];
  const auditedIds = new Set(audited.map((a) => a.id));
  return {
    task: { ...board.task, direction, description: task.description, policy: parsePolicy(task), contract: submissionContractOf(task) },
    entries: board.entries.map((e) => ({ ...e, audited: auditedIds.has(e.claimId) })),
    disputed: disputed.map((d) => ({
      claimId: d.id,
      commit: d.commit,
      parent: d.parent,
      metric: { name: d.metricName, value: d.metricValue },
      submitter: d.submitter,
      method: d.method,
      reasonCode: d.reasonCode,
      receivedAt: d.receivedAt.toISOString(),
    })),
    pendingCount: Number(pending[0]?.n ?? 0),
    history,
  };
}

export type TaskPage = Awaited<ReturnType<typeof readTaskPage>>;

/**
 * The best verified metric over time: a step series over the moment each claim became verified (its first verified
 * verdict), keeping only the points that improved the best. Claims verified and later disputed no longer count.
 */
async function bestOverTime(ctx: AppContext, taskId: string, direction: 'higher' | 'lower'): Promise<ChartPoint[]> {
  const rows = await ctx.db
    .select({ id: claims.id, value: claims.metricValue, at: sql<Date | string>`min(${verdicts.decidedAt})` })
    .from(claims)
    .innerJoin(verdicts, and(eq(verdicts.claimId, claims.id), eq(verdicts.status, 'verified')))
    .where(and(eq(claims.taskId, taskId), eq(claims.status, 'verified')))
    .groupBy(claims.id, claims.metricValue)
    .orderBy(sql`min(${verdicts.decidedAt})`)
    .limit(HISTORY_LIMIT);
  const points: ChartPoint[] = [];
  for (const r of rows) {
    const last = points.at(-1);
    const better = !last || (direction === 'higher' ? r.value > last.best : r.value < last.best);
    if (better) points.push({ at: new Date(r.at).toISOString(), best: r.value, claimId: r.id });
  }
  return points;
}

export type PendingState =
  | { state: 'queued'; kind: string; queuedAt: string }
  | { state: 'running'; kind: string; runningForMs: number; attempts: number }
  | { state: 'settling' };

/** Attestations received so far for a pending claim, against the task's quorum (distinct evidence rows). */
export type AttestationWait = { have: number; quorum: number };

export async function getClaimPage(ctx: AppContext, claimId: string) {
  const view = await getClaim(ctx, claimId);
  const [task] = await ctx.db.select().from(tasks).where(eq(tasks.id, view.claim.taskId));
  const indexes = view.verdicts.map((v) => v.logIndex).filter((i): i is number => i !== null);
  const leaves = indexes.length
    ? await ctx.db
        .select({ index: logLeaves.index, leafHash: logLeaves.leafHash })
        .from(logLeaves)
        .where(inArray(logLeaves.index, indexes))
        .orderBy(asc(logLeaves.index))
    : [];
  const policy = task ? parsePolicy(task) : null;
  const attestations = view.evidence.filter((e) => e.kind === 'attestation').length;
  const waiting: AttestationWait | null =
    view.claim.status === 'pending' && policy && attestations > 0 ? { have: attestations, quorum: policy.quorum } : null;
  return { view, task: task ?? null, policy, leaves, pending: pendingState(view, ctx.now()), waiting };
}

export type ClaimPage = Awaited<ReturnType<typeof getClaimPage>>;

/** The replay a claim is waiting for (running before queued), or "settling" for a pending claim with no job. */
export function pendingState(view: ClaimView, now: Date): PendingState | null {
  if (view.claim.status !== 'pending') {
    // A settled claim can still have an audit replay in flight: show it, the verdict may yet change to disputed.
    const audit = view.jobs.find((j) => j.kind === 'audit' && (j.state === 'queued' || j.state === 'leased'));
    return audit ? jobState(audit, now) : null;
  }
  const active = view.jobs.find((j) => j.state === 'leased') ?? view.jobs.find((j) => j.state === 'queued');
  return active ? jobState(active, now) : { state: 'settling' };
}

function jobState(job: ClaimView['jobs'][number], now: Date): PendingState {
  if (job.state === 'leased') {
    return { state: 'running', kind: job.kind, runningForMs: Math.max(0, now.getTime() - job.updatedAt.getTime()), attempts: job.attempts };
  }
  return { state: 'queued', kind: job.kind, queuedAt: job.createdAt.toISOString() };
}

function parsePolicy(task: TaskRow): TaskPolicy | null {
  const parsed = taskPolicySchema.safeParse(task.policy);
  return parsed.success ? parsed.data : null;
}

function toDirection(d: string): 'higher' | 'lower' {
  return d === 'lower' ? 'lower' : 'higher';
}
