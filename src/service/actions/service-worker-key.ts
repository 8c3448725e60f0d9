// The service's own replay worker is a verifier like any other: its key sits in the trust registry, trusted for
// every task that has a replay spec, and the registration is audited like an operator's.
import { and, eq, isNotNull, isNull } from 'drizzle-orm';
import type { Tx } from '../../../db/client.ts';
import { tasks, verifierKeys } from '../../../db/schema.ts';
import type { AppContext } from '../context.ts';
import { writeAudit } from '../storage/audit-trail.ts';
import { verifierKeyId } from '../../attest/registry.ts';

/** The service's own worker keys (one per key file the service has used) are one operator: the service. */
export const SERVICE_OPERATOR = 'proofboard-service';

export async function ensureServiceWorkerKey(ctx: AppContext, publicKeyHex: string): Promise<string> {
  const now = ctx.now();
  const id = verifierKeyId(publicKeyHex);
  return ctx.db.transaction(async (tx) => {
    const replayable = (await tx.select({ id: tasks.id }).from(tasks).where(isNotNull(tasks.replay))).map((t) => t.id).sort();
    const [existing] = await tx.select().from(verifierKeys).where(eq(verifierKeys.id, id)).for('update');
    const actor = { kind: 'system', name: 'service-worker' } as const;
    if (!existing) {
      await tx.insert(verifierKeys).values({ id, name: 'proofboard service worker', operator: SERVICE_OPERATOR, publicKey: publicKeyHex, tasks: replayable, validFrom: now, createdAt: now });
      await writeAudit(tx, actor, 'verifier_key.add', `verifier_key:${id}`, { operator: SERVICE_OPERATOR, publicKey: publicKeyHex, tasks: replayable }, now);
    } else if (!existing.revokedAt && replayable.some((t) => !existing.tasks.includes(t))) {
      const merged = [...new Set([...existing.tasks, ...replayable])].sort();
      await tx.update(verifierKeys).set({ tasks: merged }).where(eq(verifierKeys.id, id));
      await writeAudit(tx, actor, 'verifier_key.update', `verifier_key:${id}`, { tasks: merged }, now);
    }
    return id;
  });
}

/**
 * Trusts the service's own worker keys for a task just registered with a replay spec, in the registration's
 * transaction: the in-process worker (started before the task existed) takes its jobs at its next lease, as it does
 * for the tasks that existed when it started. Revoked keys stay revoked.
 */
export async function trustServiceWorkersFor(tx: Tx, taskId: string, now: Date): Promise<void> {
  const keys = await tx
    .select()
    .from(verifierKeys)
    .where(and(eq(verifierKeys.operator, SERVICE_OPERATOR), isNull(verifierKeys.revokedAt)))
    .for('update');
  const actor = { kind: 'system', name: 'service-worker' } as const;
  for (const key of keys.filter((k) => !k.tasks.includes(taskId))) {
    const merged = [...key.tasks, taskId].sort();
    await tx.update(verifierKeys).set({ tasks: merged }).where(eq(verifierKeys.id, key.id));
    await writeAudit(tx, actor, 'verifier_key.update', `verifier_key:${key.id}`, { tasks: merged }, now);
  }
}
