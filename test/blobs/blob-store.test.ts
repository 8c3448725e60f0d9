// The blob-store contract (src/blobs/blob-store.ts) on every implementation: the data folder, and PostgreSQL's
// tables on PGlite and on a real PostgreSQL. Atomic, idempotent, content-addressed, bounded; refusals leave nothing.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { FsBlobStore, type BlobStore } from '../../src/blobs/blob-store.ts';
import { CHUNK_BYTES, PgBlobStore } from '../../src/blobs/pg-blob-store.ts';
import { databaseKinds, openTestDatabase } from '../helpers/databases.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The body in pieces of awkward sizes, so chunk boundaries fall inside client writes. */
async function* pieces(b: Uint8Array, size = 100_003) {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, Math.min(b.length, i + size));
}

async function readAll(store: BlobStore, digest: string): Promise<Buffer | null> {
  const blob = await store.open(digest);
  if (!blob) return null;
  const parts: Buffer[] = [];
  for await (const p of blob.stream) parts.push(p as Buffer);
  const bytes = Buffer.concat(parts);
  expect(bytes.length).toBe(blob.size);
  return bytes;
}

type Kind = 'fs' | 'pglite' | 'postgres';
const kinds: Kind[] = ['fs', ...databaseKinds()];

describe.each(kinds)('blob store contract on %s', (kind) => {
  let store: BlobStore;
  let database: Database | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'proofboard-blobs-'));
  const chunkRows = async () => {
    if (!database) return 0;
    const r = await database.db.execute(sql`select count(*)::int as n from blob_chunks`);
    const rows = (Array.isArray(r) ? r : (r as { rows: unknown[] }).rows) as { n: number }[];
    return Number(rows[0]!.n);
  };

  beforeAll(async () => {
    if (kind === 'fs') store = new FsBlobStore(dir);
    else {
      database = await openTestDatabase(kind);
      store = new PgBlobStore(database.db);
    }
  }, 120_000);
  afterAll(async () => {
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores a multi-chunk blob and reads back exactly its bytes', async () => {
    const bytes = randomBytes(2 * CHUNK_BYTES + 12_345);
    const put = await store.put(sha(bytes), pieces(bytes), 10 * CHUNK_BYTES);
    expect(put).toEqual({ ok: true, sha256: sha(bytes), size: bytes.length, created: true });
    expect(await store.has(sha(bytes))).toBe(true);
    expect((await readAll(store, sha(bytes)))!.equals(bytes)).toBe(true);
  });

  it('an exact multiple of the chunk size and an empty blob round-trip', async () => {
    for (const bytes of [randomBytes(CHUNK_BYTES), new Uint8Array(0)]) {
      expect((await store.put(sha(bytes), pieces(bytes, 65_536), 4 * CHUNK_BYTES)).ok).toBe(true);
      expect((await readAll(store, sha(bytes)))!.equals(Buffer.from(bytes))).toBe(true);
    }
  });

  it('refuses a body that does not hash to its address, or is over the limit, and keeps nothing of it', async () => {
    const before = await chunkRows();
    const bytes = randomBytes(CHUNK_BYTES + 10);
    const wrong = sha(randomBytes(8));
    expect(await store.put(wrong, pieces(bytes), 4 * CHUNK_BYTES)).toMatchObject({ ok: false, reason: 'digest_mismatch' });
    expect(await store.has(wrong)).toBe(false);
    expect(await store.put(sha(bytes), pieces(bytes), CHUNK_BYTES)).toMatchObject({ ok: false, reason: 'blob_too_large' });
    expect(await store.has(sha(bytes))).toBe(false);
    expect(await chunkRows()).toBe(before);
  });

  it('two uploads of one digest at once both succeed and store it once', async () => {
    const bytes = randomBytes(CHUNK_BYTES + 77);
    const before = await chunkRows();
    const [a, b] = await Promise.all([store.put(sha(bytes), pieces(bytes), 4 * CHUNK_BYTES), store.put(sha(bytes), pieces(bytes), 4 * CHUNK_BYTES)]);
    expect(a.ok && b.ok).toBe(true);
    // In the database exactly one upload names the blob (the folder store's rename cannot tell who came first).
    if (database) {
      expect([a, b].filter((r) => r.ok && r.created).length).toBe(1);
      expect(await chunkRows()).toBe(before + 2);
    }
    expect((await readAll(store, sha(bytes)))!.equals(bytes)).toBe(true);
  });

  it('absent and malformed digests are absent, never an error', async () => {
    expect(await store.open(sha(randomBytes(4)))).toBeNull();
    expect(await store.has('not-a-digest')).toBe(false);
    expect(await store.open('../../etc/passwd')).toBeNull();
  });

  // The database stores only: registered for them alone, so no run reports them as skipped.
  if (kind !== 'fs') {
    it('sweeps the chunks a crashed upload left, and only those', async () => {
      const pg = store as PgBlobStore;
      const kept = randomBytes(300);
      await pg.put(sha(kept), pieces(kept), CHUNK_BYTES);
      await database!.db.execute(sql`insert into blob_chunks (upload_id, seq, data, created_at) values ('crashed', 0, '\\x00', now() - interval '2 hours')`);
      await database!.db.execute(sql`insert into blob_chunks (upload_id, seq, data) values ('in-progress', 0, '\\x00')`);
      expect(await pg.sweepOrphans(3600_000)).toBe(1);
      expect((await readAll(store, sha(kept)))!.equals(kept)).toBe(true);
      await database!.db.execute(sql`delete from blob_chunks where upload_id = 'in-progress'`);
    });

    it('serves blobs of the data folder it replaced, and stores new ones in the database', async () => {
      const folder = new FsBlobStore(join(dir, 'old'));
      const old = randomBytes(1000);
      await folder.put(sha(old), pieces(old), CHUNK_BYTES);
      const withFallback = new PgBlobStore(database!.db, folder);
      expect((await readAll(withFallback, sha(old)))!.equals(old)).toBe(true);
      expect(await store.has(sha(old))).toBe(false);
    });
  }
});
