// Appends one leaf to the transparency log inside the caller's transaction, and signs a checkpoint of the new tree
// in that same transaction.
//
// Crash safety: the leaf row, the perfect-subtree nodes it completes, the new size and the signed checkpoint commit
// together or not at all, so after any crash a leaf either has all its nodes and a checkpoint covering it, or does
// not exist; an index is never handed out twice (the head row is locked first, which also serialises several API
// processes on one PostgreSQL).
//
// The right edge of the tree (the compact tree) is rebuilt from the stored nodes on every append rather than cached
// per process: it costs one indexed read of at most log2(n) rows, and it means the checkpoint always signs the tree
// that is stored, never a cache that a rolled-back transaction or another process has made stale. Signing every
// append costs one Ed25519 signature (~1 ms) inside an append measured at 60-100 ms per leaf on the loaded 2-core
// test machine (test/log-service/log-append.test.ts prints it), so checkpoints are signed eagerly, not on read.
import { eq } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import { logCheckpoints, logHead, logLeaves, logNodes } from '../../db/schema.ts';
import { toHex } from '../attest/bytes.ts';
import { appendLeaf, compactTreeFrom, compactTreeRoot, hashLeaf, signCheckpoint } from '../log/index.ts';
import type { AppContext } from './context.ts';
import { dbNodeReader, noteSignerOf } from './log-store.ts';

export async function appendLogLeaf(ctx: AppContext, tx: Tx, data: Uint8Array, claimId: string): Promise<number> {
  await tx.insert(logHead).values({ id: 1, size: 0 }).onConflictDoNothing();
  const [head] = await tx.select().from(logHead).where(eq(logHead.id, 1)).for('update');
  if (!head) throw new Error('log head row missing after insert');
  const index = head.size;
  const before = await compactTreeFrom(dbNodeReader(tx), index);
  // RFC 6962 §2.1: leaf hash = SHA-256(0x00 || leaf data).
  const leafHash = hashLeaf(data);
  const { tree, newNodes } = appendLeaf(before, leafHash);
  // Fatal decoding: the stored text must re-encode to exactly the hashed bytes, or a client could never match it.
  const text = new TextDecoder('utf-8', { fatal: true }).decode(data);
  await tx.insert(logLeaves).values({ index, leafHash: toHex(leafHash), data: text, claimId });
  await tx.insert(logNodes).values(newNodes.map((n) => ({ level: n.level, idx: n.index, hash: toHex(n.hash) })));
  await tx.update(logHead).set({ size: tree.size }).where(eq(logHead.id, 1));
  await storeCheckpoint(ctx, tx, tree.size, compactTreeRoot(tree));
  return index;
}

/** Signs and stores the checkpoint of a tree size whose root was computed from the stored tree in this transaction. */
export async function storeCheckpoint(ctx: AppContext, tx: Tx, size: number, rootHash: Uint8Array): Promise<void> {
  const origin = ctx.logSigner.origin;
  const note = signCheckpoint({ origin, size, rootHash, extensions: [] }, noteSignerOf(ctx.logSigner));
  // One checkpoint per size: a second, different one would be a split view signed by our own key.
  await tx
    .insert(logCheckpoints)
    .values({ size, rootHash: toHex(rootHash), note, createdAt: ctx.now() })
    .onConflictDoNothing();
}
