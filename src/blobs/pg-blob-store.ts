// The blob store in PostgreSQL (tables blob_contents and blob_chunks, db/schema.ts), for several API processes and
// machines on one database: what one process accepted, every other serves (DESIGN.md "Storage and processes").
//
// It keeps the contract of blob-store.ts:
// - put() is atomic and idempotent. The bytes go in as chunks of CHUNK_BYTES under a fresh upload id while they are
//   hashed; only when the digest matches (and the size is within the limit) does one INSERT name that upload in
//   blob_contents, which is what has() and open() look up. A second upload of the same digest finds the row there
//   (ON CONFLICT DO NOTHING) and deletes its own chunks: stored once, both succeed.
// - Readers never see a partial blob: a blob_contents row is written after all its chunks are committed, and a
//   committed chunk is never changed or deleted while its row exists.
// - Memory: one chunk per upload and one per reader are held at a time, whatever the blob's size; no request holds
//   a transaction open while a client sends or reads (a slow client cannot pin a connection from the pool).
// - Faults (connection lost, disk full on the server) throw; a refused upload's chunks are deleted before put()
//   answers, and chunks left by a process that died mid-upload are removed by sweepOrphans().
//
// `fallback` serves reads of blobs stored before the switch to PostgreSQL (the data folder's FsBlobStore).
import { randomBytes, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { and, eq, lt, notExists, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { blobChunks, blobContents } from '../../db/schema.ts';
import { SHA256_HEX_RE, type BlobPut, type BlobStore } from './blob-store.ts';

/** 1 MiB per row: few rows per blob, and far below PostgreSQL's 1 GB field limit and postgres.js's message size. */
export const CHUNK_BYTES = 1 << 20;

export class PgBlobStore implements BlobStore {
  constructor(
    private readonly db: Db,
    private readonly fallback?: BlobStore,
  ) {}

  private async row(sha256: string) {
    if (!SHA256_HEX_RE.test(sha256)) return null;
    const [row] = await this.db.select().from(blobContents).where(eq(blobContents.sha256, sha256));
    return row ?? null;
  }

  async has(sha256: string): Promise<boolean> {
    if (await this.row(sha256)) return true;
    return this.fallback ? this.fallback.has(sha256) : false;
  }

  async open(sha256: string): Promise<{ size: number; stream: Readable } | null> {
    const row = await this.row(sha256);
    if (!row) return this.fallback ? this.fallback.open(sha256) : null;
    const { db } = this;
    const chunks = Math.ceil(row.size / CHUNK_BYTES);
    async function* read() {
      for (let seq = 0; seq < chunks; seq++) {
        const [chunk] = await db
          .select({ data: blobChunks.data })
          .from(blobChunks)
          .where(and(eq(blobChunks.uploadId, row!.uploadId), eq(blobChunks.seq, seq)));
        // A named blob with a chunk missing means the store was damaged: a fault, never a short blob.
        if (!chunk) throw new Error(`blob sha256:${sha256}: chunk ${seq} is missing from the store`);
        yield Buffer.from(chunk.data);
      }
    }
    return { size: row.size, stream: Readable.from(read(), { objectMode: false }) };
  }

  async put(expectedSha256: string, body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<BlobPut> {
    if (!SHA256_HEX_RE.test(expectedSha256)) throw new Error('put: digest must be 64 lowercase hex');
    const uploadId = randomBytes(16).toString('hex');
    const hash = createHash('sha256');
    let size = 0;
    let seq = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      const data = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      await this.db.insert(blobChunks).values({ uploadId, seq: seq++, data });
    };
    let named = false;
    try {
      for await (const chunk of body) {
        size += chunk.length;
        // Stop reading at the limit: an attacker cannot make us store more than maxBytes.
        if (size > maxBytes) return { ok: false, reason: 'blob_too_large', message: `blob over the limit of ${maxBytes} bytes` };
        hash.update(chunk);
        let rest = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        // Cut at exact chunk boundaries, so that chunk n always starts at byte n·CHUNK_BYTES (open() relies on it).
        while (pendingBytes + rest.length >= CHUNK_BYTES) {
          const take = CHUNK_BYTES - pendingBytes;
          pending.push(Buffer.from(rest.subarray(0, take)));
          pendingBytes += take;
          rest = rest.subarray(take);
          await flush();
        }
        if (rest.length) {
          pending.push(Buffer.from(rest));
          pendingBytes += rest.length;
        }
      }
      const actual = hash.digest('hex');
      // The address is the content: a blob stored under a digest it does not have would poison every reader.
      if (actual !== expectedSha256) return { ok: false, reason: 'digest_mismatch', message: `body hashes to sha256:${actual}` };
      await flush();
      const inserted = await this.db
        .insert(blobContents)
        .values({ sha256: actual, uploadId, size })
        .onConflictDoNothing()
        .returning({ sha256: blobContents.sha256 });
      named = inserted.length > 0;
      return { ok: true, sha256: actual, size, created: named };
    } finally {
      // Chunks of a refused upload, or of a digest someone stored first, are nobody's: removed before answering.
      if (!named) await this.db.delete(blobChunks).where(eq(blobChunks.uploadId, uploadId));
    }
  }

  /**
   * Deletes chunks that no blob names and that are older than `olderThanMs`: what uploads cut off by a crash left.
   * The age keeps uploads in progress (whose rows are not named yet) safe. Returns the number of chunks removed.
   */
  async sweepOrphans(olderThanMs: number, now = new Date()): Promise<number> {
    const deleted = await this.db
      .delete(blobChunks)
      .where(
        and(
          lt(blobChunks.createdAt, new Date(now.getTime() - olderThanMs)),
          notExists(this.db.select({ one: sql`1` }).from(blobContents).where(eq(blobContents.uploadId, blobChunks.uploadId))),
        ),
      )
      .returning({ seq: blobChunks.seq });
    return deleted.length;
  }
}
