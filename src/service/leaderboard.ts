// A task's leaderboard: best verified claims first, how each was verified, and its lineage.
import type { AppContext } from './context.ts';
import { getTask } from './tasks.ts';
import { claimsByCommit, listVerifiedClaims } from './read-claims.ts';

export async function getLeaderboard(ctx: AppContext, taskId: string, limit = 100) {
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
