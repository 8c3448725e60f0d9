// A task's leaderboard: best verified claims first, how each was verified, and its lineage.
import { sql } from 'drizzle-orm';
import { claims, logHead } from '../../db/schema.ts';
import type { AppContext } from './context.ts';
import { getTask } from './tasks.ts';
import { claimsByCommit, listVerifiedClaims } from './read-claims.ts';

type Leaderboard = Awaited<ReturnType<typeof readLeaderboard>>;

// Leaderboards by task, each with the version it was read at. Every change of a verdict appends a log leaf in the
// same transaction, and every new claim adds a row, so (log size, claim count) changes whenever the board can:
// the cache is exact across API processes sharing one database, at the price of one small query per read.
// Keyed by database handle first: two databases in one process (tests) never share entries.
const caches = new WeakMap<object, Map<string, { version: string; board: Leaderboard }>>();
const MAX_CACHED_BOARDS = 1000;

export async function getLeaderboard(ctx: AppContext, taskId: string, limit = 100): Promise<Leaderboard> {
  const [row] = await ctx.db
    .select({
      logSize: sql<number>`coalesce((select ${logHead.size} from ${logHead} where ${logHead.id} = 1), 0)`,
      claimCount: sql<number>`(select count(*) from ${claims} where ${claims.taskId} = ${taskId})`,
    })
    .from(sql`(select 1) as one`);
  const version = `${limit}:${row?.logSize}:${row?.claimCount}`;
  const key = taskId;
  let cache = caches.get(ctx.db);
  if (!cache) caches.set(ctx.db, (cache = new Map()));
  const hit = cache.get(key);
  if (hit && hit.version === version) return hit.board;
  const board = await readLeaderboard(ctx, taskId, limit);
  if (cache.size >= MAX_CACHED_BOARDS) cache.delete(cache.keys().next().value!);
  cache.set(key, { version, board });
  return board;
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
