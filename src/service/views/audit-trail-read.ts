// Read side of the audit trail (src/service/storage/audit-trail.ts): operator actions, newest first, a page at a time
// by id (ids only grow, so `before` pages are stable while new actions are written).
import { and, desc, eq, like, lt, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { auditLog } from '../../../db/schema.ts';
import type { AppContext } from '../context.ts';

export const MAX_AUDIT_PAGE = 500;

export const auditQuerySchema = z
  .object({
    limit: z
      .string()
      .regex(/^[1-9][0-9]{0,2}$/, `limit: 1 to ${MAX_AUDIT_PAGE}`)
      .transform(Number)
      .refine((n) => n <= MAX_AUDIT_PAGE, `limit: 1 to ${MAX_AUDIT_PAGE}`)
      .optional(),
    // Entries older than this id: the `next` of the previous page.
    before: z.string().regex(/^[1-9][0-9]{0,14}$/, 'before: an audit entry id').transform(Number).optional(),
    // An action ("verifier_key.revoke") or a family of them ("verifier_key").
    action: z.string().regex(/^[a-z_]{1,40}(\.[a-z_]{1,40})?$/, 'action: like verifier_key or verifier_key.add').optional(),
    // The thing acted on, exactly as recorded ("verifier_key:<id>", "task:<id>").
    target: z.string().min(1).max(200).optional(),
  })
  .strict();
export type AuditQuery = z.infer<typeof auditQuerySchema>;

export async function listAuditTrail(ctx: AppContext, q: AuditQuery) {
  const limit = q.limit ?? 50;
  const where: SQL[] = [];
  if (q.before !== undefined) where.push(lt(auditLog.id, q.before));
  // A family matches by prefix; `_` is a LIKE wildcard, so it is escaped (backslash is PostgreSQL's default escape).
  if (q.action) where.push(q.action.includes('.') ? eq(auditLog.action, q.action) : like(auditLog.action, `${q.action.replaceAll('_', '\\_')}.%`));
  if (q.target) where.push(eq(auditLog.target, q.target));
  const rows = await ctx.db
    .select()
    .from(auditLog)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(auditLog.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  return {
    entries: page.map((r) => ({ id: r.id, at: r.at.toISOString(), actor: r.actor, action: r.action, target: r.target, details: r.details })),
    next: rows.length > limit ? String(page.at(-1)!.id) : null,
  };
}
