// Audits: a task-configured fraction of cheaply verified claims is replayed anyway. The choice is keyed with a
// secret of the service (HMAC of the claim id), so a submitter cannot tell in advance which claims will be checked,
// nor grind claims until one escapes: every claim has the same chance.
import { createHmac } from 'node:crypto';
import { inArray } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import { replayJobs, tasks } from '../../db/schema.ts';
import type { AppContext } from './context.ts';

/** A uniform number in [0, 1) from HMAC-SHA256(auditKey, claimId): 53 bits, as many as a double holds. */
export function auditDraw(auditKey: Uint8Array, claimId: string): number {
  const mac = createHmac('sha256', auditKey).update(`proofboard audit v1\n${claimId}`).digest();
  return Number(mac.readBigUInt64BE(0) >> 11n) / 2 ** 53;
}

/** Queues an audit replay for each claim the keyed draw picks (one read of their tasks, one insert). */
export async function maybeQueueAudits(ctx: AppContext, tx: Tx, claims: readonly { id: string; taskId: string }[], now: Date): Promise<string[]> {
  if (claims.length === 0) return [];
  const taskIds = [...new Set(claims.map((c) => c.taskId))];
  const rows = await tx.select({ id: tasks.id, fraction: tasks.auditFraction, replay: tasks.replay }).from(tasks).where(inArray(tasks.id, taskIds));
  const byId = new Map(rows.map((r) => [r.id, r]));
  const drawn = claims.filter((c) => {
    const task = byId.get(c.taskId);
    return task !== undefined && task.replay !== null && auditDraw(ctx.auditKey, c.id) < task.fraction;
  });
  if (drawn.length === 0) return [];
  await tx
    .insert(replayJobs)
    .values(drawn.map((c) => ({ claimId: c.id, kind: 'audit', state: 'queued', createdAt: now, updatedAt: now })))
    .onConflictDoNothing();
  return drawn.map((c) => c.id);
}
