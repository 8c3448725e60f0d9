// A task's leaderboard: best verified claims first, how each was verified, and its lineage. Cached in memory and
// kept true by the database's change notifications (read-cache.ts): it reads tasks and claims only.
import type { AppContext } from '../context.ts';
import { getTask } from '../actions/tasks.ts';
import { claimsByCommit, listVerifiedClaims } from './read-claims.ts';
import { cachedRead, toJsonBody, type JsonBody } from '../storage/read-cache.ts';

export type Leaderboard = Awaited<ReturnType<typeof readLeaderboard>>;

/** The leaderboard (shared with other readers when cached: read-only). */
export function getLeaderboard(ctx: AppContext, taskId: string, limit = 100): Promise<Leaderboard> {
  return cachedRead(ctx, `leaderboard:${limit}:${taskId}`, () => readLeaderboard(ctx, taskId, limit));
}

/** The leaderboard as a JSON body serialized once per change, with its ETag: what GET .../leaderboard sends. */
export function getLeaderboardJson(ctx: AppContext, taskId: string, limit = 100): Promise<JsonBody> {
  return cachedRead(ctx, `leaderboard.json:${limit}:${taskId}`, async () => toJsonBody(await getLeaderboard(ctx, taskId, limit)));
}

async function readLeaderboard(ctx: AppContext, taskId: string, limit: number) {
  const task = await getTask(ctx, taskId);
  const direction = task.direction === 'lower' ? 'lower' : 'higher';
  const rows = await listVerifiedClaims(ctx, taskId, direction, limit);
  const parents = [...new Set(rows.map((r) => r.parent).filter((p): p is string => p !== null))];
  const parentClaims = await claimsByCommit(ctx, taskId, parents);
  return {
    task: { id: task.id, title: task.title, metricName: task.metricName, direction },
    entries: rows.map((r, i) => ({
      rank: i + 1,
      claimId: r.id,
      commit: r.commit,
      metric: { name: r.metricName, value: r.metricValue },
      submitter: r.submitter,
      method: r.method,
      receivedAt: r.receivedAt.toISOString(),
      lineage: {
        parent: r.parent,
        // Every claim made about the parent commit: the chain a newcomer can follow back.
        parentClaims: parentClaims
          .filter((p) => p.commit === r.parent)
          .map((p) => ({ claimId: p.id, status: p.status, metricValue: p.metricValue })),
      },
    })),
  };
}
