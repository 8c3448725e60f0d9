// Blobs in PostgreSQL (src/blobs/pg-blob-store.ts) against the baseline, the data folder (FsBlobStore), in one run:
// upload and download of one blob of BENCH_BLOB_MIB MiB (default 32) each, three rounds, median; and the process's peak
// RSS growth during the PostgreSQL rounds, which must stay near a few chunks whatever the blob size. Needs
// TEST_DATABASE_URL (a database is made there and dropped). Ends with one line of JSON.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBlobStore, type BlobStore } from '../src/blobs/blob-store.ts';
import { PgBlobStore } from '../src/blobs/pg-blob-store.ts';
import { openDatabase } from '../db/client.ts';
import { createPostgresDatabase } from '../test/helpers/databases.ts';

const MIB = 1 << 20;
const size = Number(process.env.BENCH_BLOB_MIB ?? 32) * MIB;
const ROUNDS = 3;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The blob as a client sends it: 64 KiB pieces, generated on the fly so the bench itself holds none of it. */
function body(seed: Buffer): AsyncIterable<Uint8Array> {
  return (async function* () {
    for (let off = 0; off < size; off += 65_536) yield seedPiece(seed, off);
  })();
}
/** Piece at `off`: a byte pattern, with the round's random seed at the start so each round stores a new blob. */
function seedPiece(seed: Buffer, off: number): Uint8Array {
  const piece = Buffer.alloc(65_536, (off / 65_536) & 0xff);
  if (off === 0) seed.copy(piece);
  return piece;
}
function digestOf(seed: Buffer): string {
  const h = createHash('sha256');
  for (let off = 0; off < size; off += 65_536) h.update(seedPiece(seed, off));
  return h.digest('hex');
}

async function round(store: BlobStore) {
  const seed = randomBytes(16);
  const digest = digestOf(seed);
  let t = performance.now();
  const put = await store.put(digest, body(seed), size + 1);
  const putMs = performance.now() - t;
  if (!put.ok) throw new Error(put.message);
  t = performance.now();
  const blob = await store.open(digest);
  let read = 0;
  for await (const chunk of blob!.stream) read += (chunk as Buffer).length;
  const getMs = performance.now() - t;
  if (read !== size) throw new Error(`read ${read} of ${size}`);
  return { putMs, getMs };
}

async function measure(store: BlobStore) {
  const rounds = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await round(store));
  return { putMs: median(rounds.map((r) => r.putMs)), getMs: median(rounds.map((r) => r.getMs)) };
}

const dir = mkdtempSync(join(tmpdir(), 'proofboard-bench-blobs-'));

const pg = await createPostgresDatabase();
const database = await openDatabase({ url: pg.url, dataDir: dir });
try {
  const fs = await measure(new FsBlobStore(join(dir, 'blobs')));
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const db = await measure(new PgBlobStore(database.db));
  clearInterval(sampler);
  const mibPerS = (ms: number) => Math.round((size / MIB / (ms / 1000)) * 10) / 10;
  console.log(`blob of ${size / MIB} MiB, median of ${ROUNDS}`);
  console.log(`  data folder (baseline): put ${fs.putMs.toFixed(0)} ms (${mibPerS(fs.putMs)} MiB/s), get ${fs.getMs.toFixed(0)} ms (${mibPerS(fs.getMs)} MiB/s)`);
  console.log(`  PostgreSQL:             put ${db.putMs.toFixed(0)} ms (${mibPerS(db.putMs)} MiB/s), get ${db.getMs.toFixed(0)} ms (${mibPerS(db.getMs)} MiB/s)`);
  console.log(`  ratio PostgreSQL / folder: put ${(db.putMs / fs.putMs).toFixed(2)}x, get ${(db.getMs / fs.getMs).toFixed(2)}x; peak RSS growth ${((peak - rssBefore) / MIB).toFixed(1)} MiB`);
  console.log(
    JSON.stringify({ blobMiB: size / MIB, folder: fs, postgres: db, putRatio: db.putMs / fs.putMs, getRatio: db.getMs / fs.getMs, peakRssGrowthMiB: (peak - rssBefore) / MIB }),
  );
} finally {
  await database.close();
  await pg.drop();
  rmSync(dir, { recursive: true, force: true });
}
