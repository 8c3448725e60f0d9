// Read side of the transparency log: the latest signed checkpoint, entries, inclusion and consistency proofs, the
// log's verifier key. Proofs are computed for sizes that are already committed, from committed nodes that never
// change, so they need no transaction (merkle.ts NodeHashReader contract).
import { and, asc, desc, eq, gte, lt, sql } from 'drizzle-orm';
import { logCheckpoints, logHead, logLeaves } from '../../../db/schema.ts';
import { fromHex } from '../../attest/bytes.ts';
import { consistencyProofFrom, EMPTY_ROOT, formatVerifierKey, inclusionProofFrom, parseNote, type Hash } from '../../log/index.ts';
import type { AppContext } from '../context.ts';
import { ServiceError } from '../errors.ts';
import { dbNodeReader, noteSignerOf } from '../storage/log-store.ts';
import { storeCheckpoint } from '../storage/log-append.ts';

/** Largest page of GET /v1/log/entries: bounds one request's work and answer size. */
export const MAX_ENTRIES_PAGE = 1000;

export type SignedCheckpoint = { size: number; rootHash: Hash; note: string };

export async function logSize(ctx: AppContext): Promise<number> {
  const [head] = await ctx.db.select().from(logHead).where(eq(logHead.id, 1));
  return head?.size ?? 0;
}

/**
 * The checkpoint of the largest committed size. Every append stores one in its own transaction; only the empty log
 * has none yet, and its checkpoint (size 0, the empty root) is signed on first request.
 */
export async function latestCheckpoint(ctx: AppContext): Promise<SignedCheckpoint> {
  const [row] = await ctx.db.select().from(logCheckpoints).orderBy(desc(logCheckpoints.size)).limit(1);
  if (row) return { size: row.size, rootHash: fromHex(row.rootHash, 'checkpoint root', 32), note: row.note };
  await ctx.db.transaction((tx) => storeCheckpoint(ctx, tx, 0, EMPTY_ROOT));
  return latestCheckpoint(ctx);
}

/** Two signature lines or more: the log's own and at least one witness's (signed-note lines start "— "). */
const COSIGNED_NOTE = '%\n\u2014 %\n\u2014 %';

/**
 * The largest checkpoint whose note carries lines besides the log's own signature: witness cosignatures, added by
 * the background gatherer (actions/gather-cosignatures.ts). Which of them count is the reader's choice (the
 * witnesses it pins); null when no checkpoint is cosigned. One query: the primary key read backwards, filtered.
 */
export async function latestCosignedCheckpoint(ctx: AppContext): Promise<SignedCheckpoint | null> {
  const [row] = await ctx.db
    .select()
    .from(logCheckpoints)
    .where(sql`${logCheckpoints.note} like ${COSIGNED_NOTE}`)
    .orderBy(desc(logCheckpoints.size))
    .limit(1);
  if (!row) return null;
  // The pattern is a prefilter; the parsed note decides (a text line of the checkpoint could look like a signature).
  const note = parseNote(row.note);
  if (!note.ok || note.value.signatures.length < 2) return null;
  return { size: row.size, rootHash: fromHex(row.rootHash, 'checkpoint root', 32), note: row.note };
}

export async function listEntries(ctx: AppContext, start: number, end: number) {
  if (end <= start) throw new ServiceError('bad_query', 'end must be greater than start');
  if (end - start > MAX_ENTRIES_PAGE) throw new ServiceError('bad_query', `at most ${MAX_ENTRIES_PAGE} entries per page`);
  const size = await logSize(ctx);
  // A page past the end is clamped, not refused: a client paging the log does not know its size in advance.
  const rows = await ctx.db
    .select()
    .from(logLeaves)
    .where(and(gte(logLeaves.index, start), lt(logLeaves.index, Math.min(end, size))))
    .orderBy(asc(logLeaves.index));
  return { size, entries: rows.map((r) => ({ index: r.index, claimId: r.claimId, data: r.data })) };
}

async function assertCommittedSize(ctx: AppContext, size: number, field: string): Promise<void> {
  const current = await logSize(ctx);
  if (size > current) throw new ServiceError('bad_query', `${field} ${size} exceeds the log size ${current}`);
}

export async function inclusionProof(ctx: AppContext, index: number, size: number): Promise<Hash[]> {
  if (index >= size) throw new ServiceError('bad_query', `index ${index} is not below size ${size}`);
  await assertCommittedSize(ctx, size, 'size');
  return inclusionProofFrom(dbNodeReader(ctx.db), index, size);
}

export async function consistencyProof(ctx: AppContext, from: number, to: number): Promise<Hash[]> {
  if (from > to) throw new ServiceError('bad_query', `from ${from} exceeds to ${to}`);
  await assertCommittedSize(ctx, to, 'to');
  return consistencyProofFrom(dbNodeReader(ctx.db), from, to);
}

/** The log's public key as a C2SP note verifier key: what a third party pins (`recheck --log-key`). */
export function logVerifierKey(ctx: AppContext): string {
  const { name, keyId, publicKey } = noteSignerOf(ctx.logSigner);
  return formatVerifierKey({ name, keyId, publicKey });
}
