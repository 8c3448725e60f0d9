// Counts for /metrics: claims by task, status and method; replay jobs by kind and state; the log's size. Read-only,
// three grouped queries whatever the number of claims.
import { count, eq } from 'drizzle-orm';
import { claims, logHead, replayJobs } from '../../../db/schema.ts';
import type { AppContext } from '../context.ts';

export async function readServiceStats(ctx: AppContext) {
  const claimRows = await ctx.db
    .select({ task: claims.taskId, status: claims.status, method: claims.method, n: count() })
    .from(claims)
    .groupBy(claims.taskId, claims.status, claims.method);
  const jobRows = await ctx.db
    .select({ kind: replayJobs.kind, state: replayJobs.state, n: count() })
    .from(replayJobs)
    .groupBy(replayJobs.kind, replayJobs.state);
  const [head] = await ctx.db.select({ size: logHead.size }).from(logHead).where(eq(logHead.id, 1));
  return {
    claims: claimRows.map((r) => ({ task: r.task, status: r.status, method: r.method, count: Number(r.n) })),
    jobs: jobRows.map((r) => ({ kind: r.kind, state: r.state, count: Number(r.n) })),
    logSize: Number(head?.size ?? 0),
  };
}
