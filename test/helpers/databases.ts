// Every database test runs on PGlite and, when TEST_DATABASE_URL is set, on PostgreSQL. A skipped PostgreSQL
// suite is announced loudly; with PROOFBOARD_REQUIRE_POSTGRES=1 (CI) it is an error instead.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import postgres from 'postgres';
import { MIGRATIONS_FOLDER, openDatabase, type Database, type Db } from '../../db/client.ts';
import * as schema from '../../db/schema.ts';

export type DatabaseKind = 'pglite' | 'postgres';

const PG_URL = process.env.TEST_DATABASE_URL;

export function databaseKinds(): DatabaseKind[] {
  if (PG_URL) return ['pglite', 'postgres'];
  if (process.env.PROOFBOARD_REQUIRE_POSTGRES === '1') {
    throw new Error('PROOFBOARD_REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set: the PostgreSQL suite would be skipped');
  }
  warnOnce();
  return ['pglite'];
}

let warned = false;
function warnOnce() {
  if (warned) return;
  warned = true;
  console.warn(
    '\n*** SKIPPED: the PostgreSQL suite (TEST_DATABASE_URL is not set). Only PGlite was tested. ' +
      'Set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run it. ***\n',
  );
}

function migrationsHash(): string {
  const h = createHash('sha256');
  for (const f of readdirSync(MIGRATIONS_FOLDER).sort()) if (f.endsWith('.sql')) h.update(readFileSync(join(MIGRATIONS_FOLDER, f)));
  return h.digest('hex').slice(0, 16);
}

// A migrated PGlite image, made once per machine and migration set: a fresh PGlite takes seconds, a restore < 1 s.
async function pgliteImage(): Promise<Blob> {
  const path = join(tmpdir(), `proofboard-test-pglite-${migrationsHash()}.tar.gz`);
  if (existsSync(path)) return new Blob([readFileSync(path)]);
  const client = await PGlite.create();
  await migratePglite(drizzlePglite(client, { schema }), { migrationsFolder: MIGRATIONS_FOLDER });
  const image = await client.dumpDataDir('gzip');
  await client.close();
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, Buffer.from(await image.arrayBuffer()));
  renameSync(tmp, path);
  return image;
}

export async function openTestDatabase(kind: DatabaseKind): Promise<Database> {
  if (kind === 'pglite') {
    const client = await PGlite.create({ loadDataDir: await pgliteImage() });
    const db = drizzlePglite(client, { schema }) as unknown as Db;
    return { db, driver: 'pglite', close: () => client.close() };
  }
  // A fresh database per suite, dropped afterwards, so suites running in parallel never see each other's rows.
  const pg = await createPostgresDatabase();
  const database = await openDatabase({ url: pg.url });
  return {
    ...database,
    close: async () => {
      await database.close();
      await pg.drop();
    },
  };
}

/** A URL of a fresh PostgreSQL database for a test that runs a real server process; dropped by the returned function. */
export async function createPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  if (!PG_URL) throw new Error('TEST_DATABASE_URL is not set');
  const name = `pb_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(PG_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const drop = postgres(PG_URL, { max: 1, onnotice: () => {} });
      await drop.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await drop.end();
    },
  };
}
