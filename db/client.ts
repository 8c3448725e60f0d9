// Opens the database: PostgreSQL through postgres.js when a URL is given, otherwise PGlite (embedded, on disk)
// in the data folder. Both get the same drizzle schema and the same committed migrations, and both can tell a
// listener when the data changed (LISTEN/NOTIFY; db/migrations/0001_read-cache-notify.sql sends the notifications).
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

/**
 * What a listener hears. Contract: between onListen and the next onLost, every change committed to the database
 * that sends a notification on the channel reaches onNotify, after its commit. Before the first onListen and between
 * onLost and the following onListen, notifications may be lost: a listener must then assume anything changed.
 */
export type ChangeHandlers = {
  /** A notification arrived on the channel (payload as sent: the name of the changed table). */
  onNotify(payload: string): void;
  /**
   * A write through this Database's drizzle instance ended: a transaction (committed, rolled back or failed) or a
   * statement outside one. Called before the writer resumes, so this process's own writes are known at once, before
   * PostgreSQL delivers their notification on another connection: whoever reads after a write was answered sees it.
   */
  onOwnWrite?(): void;
  /** Listening began, or resumed after a lost connection. */
  onListen(): void;
  /** The connection that receives notifications is gone (closed, or silent past the heartbeat deadline). */
  onLost(): void;
};

export type Unlisten = () => Promise<void>;

export type Database = {
  db: Db;
  driver: 'pglite' | 'postgres';
  /**
   * Subscribes to a notification channel (see ChangeHandlers for the contract); the returned function stops it.
   * Absent where this Database cannot deliver notifications: whatever depends on them must then stay off.
   */
  listen?: (channel: string, handlers: ChangeHandlers) => Promise<Unlisten>;
  /** Stops every listener still subscribed, then closes the connections. */
  close(): Promise<void>;
};

/**
 * How the postgres.js pool behaves while PostgreSQL is restarting or unreachable: fail the waiting query soon (the API
 * answers 503 database_unavailable) and reconnect at once when the server is back. postgres.js's defaults hang
 * instead: a connect attempt may take 30 s, and its reconnect delay grows with every failed attempt across the whole
 * pool, up to 20 s (3^n / 100 s), so after a few seconds of outage queued requests waited up to 20 s, even after the
 * server was back. The driver itself is patched for the crash and the stuck connection of the same outage
 * (scripts/patch-postgres-driver.mjs).
 */
export const POOL_OUTAGE_OPTIONS = {
  /** Seconds a connection attempt may take: a server that does not answer (network, overload) fails the query. */
  connect_timeout: 5,
  /** Seconds between a failed connection and the next attempt for a waiting query: 10 ms doubling up to 100 ms. */
  backoff: (retries: number) => Math.min(0.1, 0.01 * 2 ** retries),
  /** Seconds an idle pooled connection is kept: one the server or a firewall dropped silently is not reused later. */
  idle_timeout: 60,
} satisfies postgres.Options<{}>;

export type DatabaseOptions = { url?: string | undefined; dataDir?: string | undefined };

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.url) {
    const url = opts.url;
    // max 10 connections: the API, the lease reaper and the in-process worker share one pool.
    const client = postgres(url, { max: 10, onnotice: () => {}, ...POOL_OUTAGE_OPTIONS });
    const db = drizzlePostgres(client, { schema }) as unknown as Db;
    await migratePostgres(db as never, { migrationsFolder: MIGRATIONS_FOLDER });
    return listeningDatabase(db, 'postgres', (channel, handlers) => listenPostgres(url, channel, handlers), () => client.end({ timeout: 5 }));
  }
  if (!opts.dataDir) throw new Error('openDatabase: a dataDir is needed for the embedded database');
  const dir = join(opts.dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  return pgliteDatabase(await PGlite.create(dir));
}

/** Opens an in-memory PGlite (tests): no folder, gone when closed. */
export async function openMemoryDatabase(): Promise<Database> {
  return pgliteDatabase(await PGlite.create());
}

async function pgliteDatabase(client: PGlite): Promise<Database> {
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  await migratePglite(db as never, { migrationsFolder: MIGRATIONS_FOLDER });
  return listeningDatabase(db, 'pglite', (channel, handlers) => listenPglite(client, channel, handlers), () => client.close());
}

/** A Database whose listeners hear its own writes, and are stopped before `closeClient` closes the connections. */
function listeningDatabase(
  db: Db,
  driver: Database['driver'],
  listen: (channel: string, handlers: ChangeHandlers) => Promise<Unlisten>,
  closeClient: () => Promise<void>,
): Database {
  const subscribers = new Subscribers(db);
  return {
    db,
    driver,
    listen: (channel, handlers) => subscribers.add(handlers, listen(channel, handlers)),
    close: async () => {
      await subscribers.stopAll();
      await closeClient();
    },
  };
}

/**
 * Listens on an embedded PGlite. PGlite is one in-process session: it hands a notification to the callbacks while
 * finishing the statement (or COMMIT) that sent it, before that query's promise resolves, and there is no connection
 * to lose, so onLost never runs.
 */
export async function listenPglite(client: PGlite, channel: string, handlers: ChangeHandlers): Promise<Unlisten> {
  const stop = await client.listen(channel, (payload) => handlers.onNotify(payload));
  handlers.onListen();
  let stopped = false;
  return async () => {
    if (stopped || client.closed) return;
    stopped = true;
    await stop();
  };
}

export type PostgresListenOptions = {
  /** How often the listening connection is asked `select 1` (a NAT or firewall may drop an idle one silently). */
  heartbeatMs?: number;
  /** How long LISTEN or a heartbeat may take before the connection counts as lost. */
  deadlineMs?: number;
  /** First delay before reconnecting; doubles per failed attempt, up to 5 s. */
  retryMs?: number;
};

/**
 * Listens on PostgreSQL over a dedicated connection (LISTEN needs a session of its own; a pooled connection would
 * be handed to other queries). postgres.js's own sql.listen re-subscribes after a close but never tells its caller
 * that the connection was gone, so the notifications lost meanwhile would go unnoticed; this one reports onLost at
 * once, retries with backoff until stopped, and treats a connection that stops answering heartbeats as lost (a
 * half-open TCP connection would otherwise keep "listening" while every notification is dropped). Resolves after the
 * first attempt, successful or not.
 */
export async function listenPostgres(url: string, channel: string, handlers: ChangeHandlers, opts: PostgresListenOptions = {}): Promise<Unlisten> {
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const deadlineMs = opts.deadlineMs ?? 5_000;
  const retryMs = opts.retryMs ?? 250;
  let stopped = false;
  // Each connection attempt is one session; events from an older session's client are ignored.
  let session = 0;
  let client: postgres.Sql | null = null;
  let listening = false;
  let failures = 0;
  let retry: NodeJS.Timeout | undefined;

  const lose = (s: number) => {
    if (stopped || s !== session) return;
    session++;
    listening = false;
    const old = client;
    client = null;
    old?.end({ timeout: 0 }).catch(() => {});
    handlers.onLost();
    // At most 5 s: until it listens again the read cache serves nothing from memory, so after a restart every public
    // read goes to the database; one connection attempt per 5 s costs the server nothing.
    retry = setTimeout(() => void connect(), Math.min(5_000, retryMs * 2 ** failures++));
    retry.unref();
  };

  const connect = async () => {
    retry = undefined;
    if (stopped) return;
    const s = ++session;
    // onnotify is the connection-level hook postgres.js's own sql.listen is built on (not in its type definitions);
    // test/service/read-cache.test.ts fails if notifications stop arriving through it.
    const options = {
      max: 1,
      max_lifetime: null,
      fetch_types: false,
      onnotice: () => {},
      connection: { application_name: 'proofboard-listen' },
      onnotify: (ch: string, payload: string) => {
        if (s === session && ch === channel) handlers.onNotify(payload);
      },
      onclose: () => lose(s),
    };
    const sql = postgres(url, options as postgres.Options<{}>);
    client = sql;
    try {
      await withDeadline(sql.unsafe(`LISTEN ${quoteIdent(channel)}`), deadlineMs);
      if (stopped || s !== session) return;
      listening = true;
      failures = 0;
      handlers.onListen();
    } catch {
      lose(s);
    }
  };

  const heartbeat = setInterval(() => {
    if (!listening || !client) return;
    const s = session;
    withDeadline(client`select 1`, deadlineMs).catch(() => lose(s));
  }, heartbeatMs);
  heartbeat.unref();

  await connect();
  return async () => {
    if (stopped) return;
    stopped = true;
    listening = false;
    clearInterval(heartbeat);
    clearTimeout(retry);
    const old = client;
    client = null;
    await old?.end({ timeout: 1 }).catch(() => {});
  };
}

/** The listeners of one Database, told about this process's own writes as they end. */
class Subscribers {
  readonly #active = new Map<ChangeHandlers, Unlisten>();

  constructor(db: Db) {
    reportOwnWrites(db, () => {
      for (const h of this.#active.keys()) h.onOwnWrite?.();
    });
  }

  async add(handlers: ChangeHandlers, started: Promise<Unlisten>): Promise<Unlisten> {
    const stop = await started;
    const unlisten = async () => {
      this.#active.delete(handlers);
      await stop();
    };
    this.#active.set(handlers, unlisten);
    return unlisten;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#active.values()].map((stop) => stop()));
  }
}

type PreparedQuery = { execute: (...args: unknown[]) => Promise<unknown>; all?: (...args: unknown[]) => Promise<unknown> };
type Session = { prepareQuery: (query: { sql: string }, ...rest: unknown[]) => PreparedQuery };

/**
 * Calls `ended` after every write through `db` settles. Writes take one of two paths: db.transaction (the service's
 * writes), and a statement outside a transaction, which drizzle prepares on the root session with its kind in the
 * query metadata (raw db.execute has none: anything but a SELECT counts as a write). drizzle has no public hook that
 * runs after a statement, so the root session's prepareQuery is wrapped; test/service/read-cache.test.ts fails if
 * either path stops reporting. Statements inside a transaction run on a session of their own, reported at its end.
 */
function reportOwnWrites(db: Db, ended: () => void): void {
  const settle = async <T>(work: Promise<T>): Promise<T> => {
    try {
      return await work;
    } finally {
      ended();
    }
  };
  const transaction = db.transaction.bind(db);
  db.transaction = ((...args: Parameters<Db['transaction']>) => settle(transaction(...args))) as Db['transaction'];

  const session = (db as unknown as { session: Session }).session;
  const prepare = session.prepareQuery.bind(session);
  session.prepareQuery = (query, ...rest) => {
    const prepared = prepare(query, ...rest);
    const meta = rest[4] as { type?: string } | undefined; // (fields, name, arrayMode, mapper, queryMetadata, ...)
    const write = meta?.type ? meta.type !== 'select' : !/^\s*select\b/i.test(query.sql);
    if (write) {
      const execute = prepared.execute.bind(prepared);
      prepared.execute = (...a) => settle(execute(...a));
      if (prepared.all) {
        const all = prepared.all.bind(prepared);
        prepared.all = (...a) => settle(all(...a));
      }
    }
    return prepared;
  };
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function withDeadline<T>(work: PromiseLike<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
