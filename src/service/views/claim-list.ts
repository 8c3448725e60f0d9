// Read side: claims filtered by task, status, submitter and commit, newest first, a page at a time. Keyset
// pagination on (received_at, id): a page boundary never skips or repeats a claim while new ones arrive, and every
// page costs one index range scan however deep it is (an OFFSET would read every earlier row). received_at is written
// from ctx.now(), a JavaScript Date, so it holds whole milliseconds and the cursor's millisecond time is exact.
import { and, desc, eq, lt, or, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { claims, submitterKeys } from '../../../db/schema.ts';
import type { AppContext } from '../context.ts';
import { ServiceError } from '../errors.ts';

export const CLAIM_STATUSES = ['pending', 'verified', 'rejected', 'disputed'] as const;
export const MAX_CLAIM_PAGE = 200;

/** The query both the API and the web page accept; every field optional. */
export const claimListQuerySchema = z
  .object({
    task: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'task id').optional(),
    status: z.enum(CLAIM_STATUSES).optional(),
    submitter: z.string().regex(/^[0-9a-f]{64}$/, 'submitter: a public key, 64 lowercase hex').optional(),
    commit: z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, 'commit: 40 or 64 lowercase hex').optional(),
    limit: z
      .string()
      .regex(/^[1-9][0-9]{0,2}$/, `limit: 1 to ${MAX_CLAIM_PAGE}`)
      .transform(Number)
      .refine((n) => n <= MAX_CLAIM_PAGE, `limit: 1 to ${MAX_CLAIM_PAGE}`)
      .optional(),
    cursor: z.string().max(200).optional(),
  })
  .strict();
export type ClaimListQuery = z.infer<typeof claimListQuerySchema>;

export type ClaimSummary = {
  id: string;
  task: string;
  commit: string;
  parent: string | null;
  metric: { name: string; value: number };
  submitter: string;
  status: string;
  method: string | null;
  reasonCode: string | null;
  receivedAt: string;
};

type Cursor = { at: Date; id: string };

/** The cursor is opaque to clients; inside it is the last row's (received_at, id). Malformed ones are a 400. */
function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.at.toISOString()}|${c.id}`).toString('base64url');
}

function decodeCursor(text: string): Cursor {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\|([0-9a-f]{64})$/.exec(Buffer.from(text, 'base64url').toString('utf8'));
  const at = m ? new Date(m[1]!) : null;
  if (!m || !at || Number.isNaN(at.getTime())) throw new ServiceError('bad_request', 'cursor: not a cursor this server gave out');
  return { at, id: m[2]! };
}

export async function listClaims(ctx: AppContext, q: ClaimListQuery): Promise<{ claims: ClaimSummary[]; next: string | null }> {
  const limit = q.limit ?? 50;
  const where: SQL[] = [];
  if (q.task) where.push(eq(claims.taskId, q.task));
  if (q.status) where.push(eq(claims.status, q.status));
  if (q.submitter) where.push(eq(claims.submitter, q.submitter));
  if (q.commit) where.push(eq(claims.commit, q.commit));
  if (q.cursor) {
    const c = decodeCursor(q.cursor);
    where.push(or(lt(claims.receivedAt, c.at), and(eq(claims.receivedAt, c.at), lt(claims.id, c.id)))!);
  }
  // One row more than asked tells whether another page exists without a count query.
  const rows = await ctx.db
    .select()
    .from(claims)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(claims.receivedAt), desc(claims.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    claims: page.map((r) => ({
      id: r.id,
      task: r.taskId,
      commit: r.commit,
      parent: r.parent,
      metric: { name: r.metricName, value: r.metricValue },
      submitter: r.submitter,
      status: r.status,
      method: r.method,
      reasonCode: r.reasonCode,
      receivedAt: r.receivedAt.toISOString(),
    })),
    next: rows.length > limit && last ? encodeCursor({ at: last.receivedAt, id: last.id }) : null,
  };
}

export type SubmitterRecord = {
  publicKey: string;
  reputation: number;
  verified: number;
  rejected: number;
  disputed: number;
  bannedAt: string | null;
  banReason: string | null;
  firstSeenAt: string;
};

/** A submitter key's record; null for a key the service has never seen. */
export async function getSubmitterRecord(ctx: AppContext, publicKey: string): Promise<SubmitterRecord | null> {
  const [k] = await ctx.db.select().from(submitterKeys).where(eq(submitterKeys.publicKey, publicKey));
  if (!k) return null;
  return {
    publicKey: k.publicKey,
    reputation: k.reputation,
    verified: k.verifiedCount,
    rejected: k.rejectedCount,
    disputed: k.disputedCount,
    bannedAt: k.bannedAt?.toISOString() ?? null,
    banReason: k.banReason,
    firstSeenAt: k.firstSeenAt.toISOString(),
  };
}
