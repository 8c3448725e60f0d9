// Operator actions are written to the audit trail inside the same transaction as the change they describe.
import type { Tx } from '../../../db/client.ts';
import { auditLog } from '../../../db/schema.ts';

export type Operator = { kind: 'operator'; name: string } | { kind: 'system'; name: string };

export async function writeAudit(tx: Tx, actor: Operator, action: string, target: string, details: object, at: Date) {
  await tx.insert(auditLog).values({ actor: `${actor.kind}:${actor.name}`, action, target, details, at });
}
