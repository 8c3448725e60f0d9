// Fixed-window rate limits kept in the database, so every API process sharing one PostgreSQL counts together.
// One upsert per check: atomic on PostgreSQL (row lock on conflict) and trivially so on single-session PGlite.
import { sql } from 'drizzle-orm';
import { rateCounters } from '../../db/schema.ts';
import type { AppContext } from './context.ts';
import { ServiceError } from './errors.ts';

export type Limit = { perWindow: number; windowSeconds: number };

export async function enforceRateLimit(ctx: AppContext, key: string, limit: Limit, what: string): Promise<void> {
  const now = ctx.now();
  const windowMs = limit.windowSeconds * 1000;
  const windowStart = new Date(Math.floor(now.getTime() / windowMs) * windowMs);
  const [row] = await ctx.db
    .insert(rateCounters)
    .values({ key, windowStart, count: 1 })
    .onConflictDoUpdate({
      target: rateCounters.key,
      set: {
        count: sql`case when ${rateCounters.windowStart} = excluded.window_start then ${rateCounters.count} + 1 else 1 end`,
        windowStart: sql`excluded.window_start`,
      },
    })
    .returning({ count: rateCounters.count });
  if ((row?.count ?? 0) > limit.perWindow) {
    const retryAfterSeconds = Math.ceil((windowStart.getTime() + windowMs - now.getTime()) / 1000);
    throw new ServiceError('rate_limited', `${what}: over ${limit.perWindow} requests per ${limit.windowSeconds} s`, { retryAfterSeconds });
  }
}
