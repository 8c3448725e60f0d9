// Audits: a task-configured fraction of cheaply verified claims is replayed anyway. The choice is keyed with a
// secret of the service (HMAC of the claim id), so a submitter cannot tell in advance which claims will be checked,
// nor grind claims until one escapes: every claim has the same chance.
import { createHmac } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Tx } from '../../../db/client.ts';
import { replayJobs, tasks } from '../../../db/schema.ts';
import type { AppContext } from '../context.ts';

/** A uniform number in [0, 1) from HMAC-SHA256(auditKey, claimId): 53 bits, as many as a double holds. */
export function auditDraw(auditKey: Uint8Array, claimId: string): number {
  const mac = createHmac('sha256', auditKey).update(`proofboard audit v1\n${claimId}`).digest();
  return Number(mac.readBigUInt64BE(0) >> 11n) / 2 ** 53;
}

/**
 * Queues an audit replay for each claim the keyed draw picks, in one statement: the draws are computed here (the key
 * never leaves the process) and compared with each task's audit fraction in the database, so no read of the tasks
 * comes first.
 */
export function queueAudits(ctx: AppContext, tx: Tx, claims: readonly { id: string; taskId: string }[], now: Date): Promise<unknown> {
  if (claims.length === 0) return Promise.resolve();
  const rows = claims.map((c) => sql`(${c.id}::text, ${c.taskId}::text, ${auditDraw(ctx.auditKey, c.id)}::double precision)`);
  const at = now.toISOString();
  return tx.execute(sql`
    insert into ${replayJobs} (claim_id, kind, state, created_at, updated_at)
    select v.claim_id, 'audit', 'queued', ${at}::timestamptz, ${at}::timestamptz
    from (values ${sql.join(rows, sql`, `)}) as v(claim_id, task_id, draw)
    join ${tasks} on ${tasks.id} = v.task_id
    where ${tasks.replay} is not null and v.draw < ${tasks.auditFraction}
    on conflict do nothing`);
}
