// Opens the database: PostgreSQL through postgres.js when a URL is given, otherwise PGlite (embedded, on disk)
// in the data folder. Both get the same drizzle schema and the same committed migrations.
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import postgres from 'postgres';
import * as schema from './schema.ts';

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export const MIGRATIONS_FOLDER = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

export type Database = {
  db: Db;
  driver: 'pglite' | 'postgres';
  /** Rows of a raw query on either driver (PGlite returns {rows}, postgres.js an array). */
  close(): Promise<void>;
};

export type DatabaseOptions = { url?: string | undefined; dataDir?: string | undefined };

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.url) {
    // max 10 connections: the API, the lease reaper and the in-process worker share one pool.
    const client = postgres(opts.url, { max: 10, onnotice: () => {} });
    const db = drizzlePostgres(client, { schema }) as unknown as Db;
    await migratePostgres(db as never, { migrationsFolder: MIGRATIONS_FOLDER });
    return { db, driver: 'postgres', close: () => client.end({ timeout: 5 }) };
  }
  if (!opts.dataDir) throw new Error('openDatabase: a dataDir is needed for the embedded database');
  const dir = join(opts.dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  const client = await PGlite.create(dir);
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  await migratePglite(db as never, { migrationsFolder: MIGRATIONS_FOLDER });
  return { db, driver: 'pglite', close: () => client.close() };
}

/** Opens an in-memory PGlite (tests): no folder, gone when closed. */
export async function openMemoryDatabase(): Promise<Database> {
  const client = await PGlite.create();
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  await migratePglite(db as never, { migrationsFolder: MIGRATIONS_FOLDER });
  return { db, driver: 'pglite', close: () => client.close() };
}
