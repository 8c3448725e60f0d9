// Audits: a task-configured fraction of cheaply verified claims is replayed anyway. The choice is keyed with a
// secret of the service (HMAC of the claim id), so a submitter cannot tell in advance which claims will be checked,
// nor grind claims until one escapes: every claim has the same chance.
import { createHmac } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import { replayJobs, tasks } from '../../db/schema.ts';
import type { AppContext } from './context.ts';

/** A uniform number in [0, 1) from HMAC-SHA256(auditKey, claimId): 53 bits, as many as a double holds. */
export function auditDraw(auditKey: Uint8Array, claimId: string): number {
  const mac = createHmac('sha256', auditKey).update(`proofboard audit v1\n${claimId}`).digest();
  return Number(mac.readBigUInt64BE(0) >> 11n) / 2 ** 53;
}

export async function maybeQueueAudit(ctx: AppContext, tx: Tx, claim: { id: string; taskId: string }, now: Date): Promise<boolean> {
  const [task] = await tx.select({ fraction: tasks.auditFraction, replay: tasks.replay }).from(tasks).where(eq(tasks.id, claim.taskId));
  if (!task || task.replay === null || auditDraw(ctx.auditKey, claim.id) >= task.fraction) return false;
  await tx.insert(replayJobs).values({ claimId: claim.id, kind: 'audit', state: 'queued', createdAt: now, updatedAt: now }).onConflictDoNothing();
  return true;
}
