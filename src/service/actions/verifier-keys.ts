// The trust registry: operator-managed verifier keys. Every change is audited in the same transaction. A key's operator
// is set when it is added and never changed: moving a key to another operator would re-count every quorum it is in
// (split one lab into two votes after the fact), so it is not offered; a third party's recheck fails on such a change.
import { asc, eq, inArray } from 'drizzle-orm';
import { z } from 'zod';
import { publicKeyHexSchema, taskIdSchema } from '../../attest/claim.ts';
import { operatorIdSchema, verifierKeyId } from '../../attest/registry.ts';
import { tasks, verifierKeys } from '../../../db/schema.ts';
import type { Tx } from '../../../db/client.ts';
import type { AppContext } from '../context.ts';
import { ServiceError } from '../errors.ts';
import { writeAudit, type Operator } from '../storage/audit-trail.ts';

export const addVerifierKeySchema = z
  .object({
    name: z.string().min(1).max(100),
    // Required, never defaulted: a quorum counts operators, and an operator adding a second key for the same lab
    // without naming the lab would silently give that lab two votes. A per-key default would be the bug again.
    operator: operatorIdSchema,
    publicKey: publicKeyHexSchema,
    tasks: z.array(taskIdSchema).min(1).max(100),
    validFrom: z.iso.datetime().optional(),
    validUntil: z.iso.datetime().nullable().optional(),
  })
  .strict();

export const updateVerifierKeySchema = z
  .object({
    name: z.string().min(1).max(100).optional(),
    tasks: z.array(taskIdSchema).min(1).max(100).optional(),
    validUntil: z.iso.datetime().nullable().optional(),
  })
  .strict();

export const revokeVerifierKeySchema = z
  .object({
    reason: z.enum(['compromised', 'retired']),
    // Defaults to now. A compromise may be back-dated to when it happened; it cannot be set in the future.
    at: z.iso.datetime().optional(),
  })
  .strict();

/**
 * A misspelt task id would be stored as given and match nothing: the key silently loses the trust meant for it, and
 * claims that counted on its vote stop reaching their quorum. So every task named must be registered.
 */
async function assertKnownTasks(tx: Tx, named: string[]) {
  const known = new Set((await tx.select({ id: tasks.id }).from(tasks).where(inArray(tasks.id, named))).map((t) => t.id));
  const unknown = [...new Set(named)].filter((t) => !known.has(t));
  if (unknown.length > 0) {
    throw new ServiceError('unknown_task', `no task ${unknown.map((t) => JSON.stringify(t)).join(', ')}: register it first, or check the spelling (proofboard admin task list)`, { unknown });
  }
}

export type VerifierKeyRow = typeof verifierKeys.$inferSelect;

export async function addVerifierKey(ctx: AppContext, actor: Operator, input: z.infer<typeof addVerifierKeySchema>) {
  const now = ctx.now();
  const validFrom = input.validFrom ? new Date(input.validFrom) : now;
  const validUntil = input.validUntil ? new Date(input.validUntil) : null;
  if (validUntil && validUntil <= validFrom) throw new ServiceError('bad_request', 'validUntil must be after validFrom');
  return ctx.db.transaction(async (tx) => {
    await assertKnownTasks(tx, input.tasks);
    const id = verifierKeyId(input.publicKey);
    const rows = await tx
      .insert(verifierKeys)
      .values({ id, name: input.name, operator: input.operator, publicKey: input.publicKey, tasks: input.tasks, validFrom, validUntil, createdAt: now })
      .onConflictDoNothing()
      .returning();
    if (!rows[0]) throw new ServiceError('verifier_key_exists', 'this public key is already registered');
    await writeAudit(tx, actor, 'verifier_key.add', `verifier_key:${id}`, input, now);
    return rows[0];
  });
}

export async function updateVerifierKey(
  ctx: AppContext,
  actor: Operator,
  id: string,
  input: z.infer<typeof updateVerifierKeySchema>,
) {
  return ctx.db.transaction(async (tx) => {
    const key = await lockKey(tx, id);
    if (input.tasks) await assertKnownTasks(tx, input.tasks);
    const validUntil = input.validUntil === undefined ? key.validUntil : input.validUntil ? new Date(input.validUntil) : null;
    // The registry refuses to load a record whose window is empty (src/attest/registry.ts): storing one would stop
    // every attestation check, so it is refused here as it is when a key is added.
    if (validUntil && validUntil <= key.validFrom) throw new ServiceError('bad_request', 'validUntil must be after validFrom');
    const [row] = await tx
      .update(verifierKeys)
      .set({ name: input.name ?? key.name, tasks: input.tasks ?? key.tasks, validUntil })
      .where(eq(verifierKeys.id, id))
      .returning();
    await writeAudit(tx, actor, 'verifier_key.update', `verifier_key:${id}`, input, ctx.now());
    return row!;
  });
}

export async function revokeVerifierKey(
  ctx: AppContext,
  actor: Operator,
  id: string,
  input: z.infer<typeof revokeVerifierKeySchema>,
  afterRevoke?: (tx: Tx, key: VerifierKeyRow) => Promise<void>,
) {
  const now = ctx.now();
  const at = input.at ? new Date(input.at) : now;
  if (at > now) throw new ServiceError('bad_request', 'a revocation cannot take effect in the future');
  return ctx.db.transaction(async (tx) => {
    const key = await lockKey(tx, id);
    if (key.revokedAt && key.revocationReason === 'compromised') {
      throw new ServiceError('conflict', 'key is already revoked as compromised');
    }
    const [row] = await tx
      .update(verifierKeys)
      .set({ revokedAt: at, revocationReason: input.reason })
      .where(eq(verifierKeys.id, id))
      .returning();
    await writeAudit(tx, actor, 'verifier_key.revoke', `verifier_key:${id}`, input, now);
    if (afterRevoke) await afterRevoke(tx, row!);
    return row!;
  });
}

export async function listVerifierKeys(ctx: AppContext) {
  return ctx.db.select().from(verifierKeys).orderBy(asc(verifierKeys.createdAt), asc(verifierKeys.id));
}

async function lockKey(tx: Tx, id: string) {
  const [key] = await tx.select().from(verifierKeys).where(eq(verifierKeys.id, id)).for('update');
  if (!key) throw new ServiceError('unknown_verifier_key', `no verifier key ${JSON.stringify(id)}`);
  return key;
}

export function toVerifierKeyJson(k: VerifierKeyRow) {
  return {
    id: k.id,
    name: k.name,
    operator: k.operator,
    publicKey: k.publicKey,
    tasks: k.tasks,
    validFrom: k.validFrom.toISOString(),
    validUntil: k.validUntil?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
    revocationReason: k.revocationReason,
    reputation: k.reputation,
  };
}
