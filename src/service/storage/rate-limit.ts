// Fixed-window rate limits kept in the database, so every API process sharing one PostgreSQL counts together.
// One upsert per check: atomic on PostgreSQL (row lock on conflict) and trivially so on single-session PGlite. The
// upsert is a CTE, so the intake can count a claim in the same statement that reads its other facts.
import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../../db/client.ts';
import { rateCounters } from '../../../db/schema.ts';
import type { AppContext } from '../context.ts';
import { ServiceError } from '../errors.ts';

export type Limit = { perWindow: number; windowSeconds: number };

export type RateWindow = { start: Date; retryAfterSeconds: number };

export function rateWindow(now: Date, limit: Limit): RateWindow {
  const windowMs = limit.windowSeconds * 1000;
  const start = new Date(Math.floor(now.getTime() / windowMs) * windowMs);
  return { start, retryAfterSeconds: Math.ceil((start.getTime() + windowMs - now.getTime()) / 1000) };
}

/**
 * CTE `counted`: adds one request to `key` in the window starting at `start` (a new window starts again at 1) and
 * returns the count, or counts nothing and returns no row when `when` is false.
 */
export function countRequest(db: Db, key: string, start: Date, when: SQL = sql`true`) {
  return db.$with('counted', { count: sql<number>`count`.as('count') }).as(sql`
    insert into ${rateCounters} (key, window_start, count)
    select ${key}, ${start.toISOString()}::timestamptz, 1 where ${when}
    on conflict (key) do update set
      count = case when ${rateCounters.windowStart} = excluded.window_start then ${rateCounters.count} + 1 else 1 end,
      window_start = excluded.window_start
    returning count`);
}

/** Refuses a request that made `count` go over the limit. */
export function refuseOverLimit(count: number | null | undefined, limit: Limit, window: RateWindow, what: string): void {
  if ((count ?? 0) > limit.perWindow) {
    throw new ServiceError('rate_limited', `${what}: over ${limit.perWindow} requests per ${limit.windowSeconds} s`, {
      retryAfterSeconds: window.retryAfterSeconds,
    });
  }
}

export async function enforceRateLimit(ctx: AppContext, key: string, limit: Limit, what: string): Promise<void> {
  const window = rateWindow(ctx.now(), limit);
  const counted = countRequest(ctx.db, key, window.start);
  const [row] = await ctx.db.with(counted).select({ count: counted.count }).from(counted);
  refuseOverLimit(row?.count, limit, window, what);
}
