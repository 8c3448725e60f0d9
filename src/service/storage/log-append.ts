// Appends leaves to the transparency log inside the caller's transaction, and signs one checkpoint of the new tree
// in that same transaction.
//
// Crash safety: the leaf rows, the perfect-subtree nodes they complete, the new size and the signed checkpoint commit
// together or not at all, so after any crash a leaf either has all its nodes and a checkpoint covering it, or does
// not exist; an index is never handed out twice (the head row is locked first, which also serialises several API
// processes on one PostgreSQL).
//
// Batches: the intake commits the claims that arrived together in one transaction (src/service/actions/intake-batch.ts), so
// one append takes many leaves. The right edge of the tree (the compact tree) is read from the stored nodes once per
// append, in one query, under the head lock: the checkpoint always signs the tree that is stored, never a process
// cache that a rolled-back transaction or another API process has made stale. One checkpoint is signed per append,
// for the size after its last leaf: a client is handed the latest checkpoint and proves inclusion against it
// (log-bundle.ts), so the sizes inside a batch need no checkpoint of their own.
import { eq } from 'drizzle-orm';
import type { Tx } from '../../../db/client.ts';
import { logCheckpoints, logHead, logLeaves, logNodes } from '../../../db/schema.ts';
import { toHex } from '../../attest/bytes.ts';
import { appendLeaf, compactTreeFrom, compactTreeRoot, hashLeaf, signCheckpoint, type StoredNode } from '../../log/index.ts';
import type { AppContext } from '../context.ts';
import { dbNodeReader, noteSignerOf } from './log-store.ts';

export type LogEntry = { data: Uint8Array; claimId: string };

/** Appends the entries in order and returns the index of each. */
export async function appendLogLeaves(ctx: AppContext, tx: Tx, entries: readonly LogEntry[]): Promise<number[]> {
  if (entries.length === 0) return [];
  const head = await lockLogHead(tx);
  let tree = await compactTreeFrom(dbNodeReader(tx), head.size);
  const leafRows: (typeof logLeaves.$inferInsert)[] = [];
  const nodes: StoredNode[] = [];
  // Fatal decoding: the stored text must re-encode to exactly the hashed bytes, or a client could never match it.
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (const entry of entries) {
    // RFC 6962 §2.1: leaf hash = SHA-256(0x00 || leaf data).
    const leafHash = hashLeaf(entry.data);
    leafRows.push({ index: tree.size, leafHash: toHex(leafHash), data: decoder.decode(entry.data), claimId: entry.claimId });
    const step = appendLeaf(tree, leafHash);
    nodes.push(...step.newNodes);
    tree = step.tree;
  }
  await tx.insert(logLeaves).values(leafRows);
  await tx.insert(logNodes).values(nodes.map((n) => ({ level: n.level, idx: n.index, hash: toHex(n.hash) })));
  await tx.update(logHead).set({ size: tree.size }).where(eq(logHead.id, 1));
  await storeCheckpoint(ctx, tx, tree.size, compactTreeRoot(tree));
  return leafRows.map((r) => r.index);
}

/** The head row, locked for this transaction; created on the first append. */
async function lockLogHead(tx: Tx): Promise<typeof logHead.$inferSelect> {
  const lock = () => tx.select().from(logHead).where(eq(logHead.id, 1)).for('update');
  const [head] = await lock();
  if (head) return head;
  await tx.insert(logHead).values({ id: 1, size: 0 }).onConflictDoNothing();
  const [created] = await lock();
  if (!created) throw new Error('log head row missing after insert');
  return created;
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
