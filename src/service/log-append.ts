// Appends one leaf to the transparency log inside the caller's transaction. The head row is locked first, so
// concurrent appends (several API processes on one PostgreSQL) get consecutive, gap-free indexes.
import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import { logHead, logLeaves } from '../../db/schema.ts';
import type { AppContext } from './context.ts';

export async function appendLogLeaf(_ctx: AppContext, tx: Tx, data: Uint8Array, claimId: string): Promise<number> {
  await tx.insert(logHead).values({ id: 1, size: 0 }).onConflictDoNothing();
  const [head] = await tx.select().from(logHead).where(eq(logHead.id, 1)).for('update');
  if (!head) throw new Error('log head row missing after insert');
  const index = head.size;
  // RFC 6962 §2.1: leaf hash = SHA-256(0x00 || leaf data).
  const leafHash = createHash('sha256').update(Uint8Array.of(0)).update(data).digest('hex');
  await tx.insert(logLeaves).values({ index, leafHash, data: new TextDecoder().decode(data), claimId });
  await tx.update(logHead).set({ size: index + 1 }).where(eq(logHead.id, 1));
  return index;
}
