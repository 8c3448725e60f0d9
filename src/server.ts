// Starts the service: database, secrets, example task, HTTP server; stops it gracefully.
import { serve, type ServerType } from '@hono/node-server';
import { join } from 'node:path';
import { openDatabase, type Database } from '../db/client.ts';
import { FsBlobStore, type BlobStore } from './blobs/blob-store.ts';
import { PgBlobStore } from './blobs/pg-blob-store.ts';
import { createApp } from './api/app.ts';
import type { Config } from './config.ts';
import type { AppContext } from './service/context.ts';
import { seedExampleTask, staleExampleCircuit } from './service/example-task.ts';
import { DIGITS_CIRCUIT_ID, DIGITS_VKEY_SHA256 } from './zk/example-task.ts';
import { closeZkJudge, warmUpZkJudge } from './service/judging/judge-zk.ts';
import { loadSecrets, type ServiceSecrets } from './service/storage/secrets.ts';
import { createLogger, type Logger } from './logger.ts';
import { logVerifierKey } from './service/views/log-read.ts';
import { ReadCache } from './service/storage/read-cache.ts';
import { startCosignatureGatherer } from './service/actions/gather-cosignatures.ts';

export type RunningService = {
  ctx: AppContext;
  secrets: ServiceSecrets;
  url: string;
  logger: Logger;
  /**
   * Registers work to do on shutdown, before the server stops accepting (each hook bounds its own time): an in-process
   * replay worker stops leasing and hands its lease back over HTTP here, so no job waits for a lease to expire.
   */
  onClose(hook: () => Promise<void>): void;
  close(): Promise<void>;
};

/**
 * The service context over an open database. Its read cache listens for the database's change notifications; the
 * listener stops when the database closes (Database.close), so shutdown needs nothing more. With
 * PROOFBOARD_READ_CACHE=off it never listens, so it never serves from memory (a transaction-mode pooler would drop
 * the notifications without a sign).
 */
export async function buildContext(config: Config, database: Database, secrets: ServiceSecrets): Promise<AppContext> {
  const readCache = new ReadCache();
  if (config.readCache) await readCache.listenTo(database);
  return {
    db: database.db,
    driver: database.driver,
    blobs: blobStoreFor(config, database),
    config: { ...config, operatorToken: secrets.operatorToken },
    now: () => new Date(),
    logSigner: { origin: config.logOrigin, secretKey: secrets.logSecretKey, publicKey: secrets.logPublicKey },
    auditKey: secrets.auditKey,
    readCache,
  };
}

/**
 * On PostgreSQL the blobs live in the database, where every API process and machine reaches them; what an earlier
 * single-machine setup left in the data folder is still served from there. PGlite is one process: its data folder.
 */
function blobStoreFor(config: Config, database: Database): BlobStore {
  const folder = new FsBlobStore(join(config.dataDir, 'blobs'));
  return database.driver === 'postgres' ? new PgBlobStore(database.db, folder) : folder;
}

/** Chunks of an upload cut off by a crash are removed after this long (an upload in progress is younger). */
const ORPHAN_CHUNK_AGE_MS = 6 * 3600_000;

export async function startService(config: Config, log: (line: string) => void = console.log): Promise<RunningService> {
  const secrets = loadSecrets(config.dataDir);
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  const ctx = await buildContext(config, database, secrets);
  await seedExampleTask(ctx);
  if (ctx.blobs instanceof PgBlobStore) await ctx.blobs.sweepOrphans(ORPHAN_CHUNK_AGE_MS);
  const logger = createLogger(config.logLevel);
  const stale = await staleExampleCircuit(ctx);
  if (stale) {
    logger.warn(
      { circuit: DIGITS_CIRCUIT_ID, stored: stale, built: DIGITS_VKEY_SHA256 },
      'this database holds an older key for the example circuit: new proofs made with this build will be refused; start on a fresh data directory (docs/zk.md, Build and trusted setup)',
    );
  }
  // Loads the pairing library and prepares the registered keys now, so the first zk claim does not pay ~0.8 s.
  await warmUpZkJudge(ctx, (circuit, err) => logger.error({ err, circuit }, 'zk circuit could not be prepared'));
  const app = createApp(ctx, { logger, log: (msg, err) => logger.error({ err }, msg) });
  const inFlight = trackInFlight(app.fetch);
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: inFlight.fetch, port: config.port, hostname: config.host }, () => resolve(s));
  });
  // Keep idle connections longer than clients and proxies do (undici 4 s, most balancers 60 s): a server that closes
  // first races the client's next request on that socket, and the client sees "other side closed".
  Object.assign(server, { keepAliveTimeout: 65_000, headersTimeout: 66_000 });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host}:${port}`;
  log(`proofboard serving ${url} (database: ${database.driver}${database.driver === 'pglite' ? ` in ${config.dataDir}` : ''})`);
  log(
    secrets.operatorTokenSource === 'file'
      ? `operator token: in ${join(config.dataDir, 'secrets', 'operator-token')}`
      : 'operator token: from PROOFBOARD_OPERATOR_TOKEN',
  );
  // The C2SP vkey third parties pin for `proofboard recheck --log-key` (docs/transparency-log.md).
  log(`log key: ${logVerifierKey(ctx)}`);
  // Witnesses cosign in the background: intake never waits for one (docs/transparency-log.md, "Witnesses").
  const gatherer = startCosignatureGatherer(ctx, (msg, err) => logger.warn({ err }, msg));
  if (config.witnesses.length) log(`witnesses: ${config.witnesses.map((w) => w.url).join(', ')}`);
  let closing: Promise<void> | null = null;
  const hooks: (() => Promise<void>)[] = [];
  return {
    ctx,
    secrets,
    url,
    logger,
    onClose: (hook) => void hooks.push(hook),
    close: () =>
      (closing ??= (async () => {
        logger.info({ graceMs: config.shutdownGraceMs }, 'shutting down: finishing in-flight requests');
        // Hooks first, while the server still answers: an in-process worker hands its lease back over HTTP.
        const results = await Promise.allSettled(hooks.map((h) => h()));
        for (const r of results) if (r.status === 'rejected') logger.error({ err: r.reason }, 'shutdown hook failed');
        await gatherer.stop();
        await drain(server, config.shutdownGraceMs, logger, inFlight);
        // After the drain: pooled proof checks of the last requests are done; no zk timer or worker outlives us.
        await closeZkJudge();
        // The database closes last: a request still running would otherwise fail half-way through its transaction.
        await database.close();
        logger.info('stopped');
      })()),
  };
}

/**
 * Counts requests whose handler has not returned. A client that hangs up does not end its request's handler (its
 * transaction still runs), so waiting for connections to close is not enough before closing the database.
 */
export function trackInFlight<F extends (request: Request, ...rest: never[]) => Response | Promise<Response>>(fetch: F) {
  let active = 0;
  let waiters: (() => void)[] = [];
  const tracked = (async (request: Request, ...rest: never[]) => {
    active++;
    try {
      return await fetch(request, ...rest);
    } finally {
      if (--active === 0) {
        const wake = waiters;
        waiters = [];
        for (const w of wake) w();
      }
    }
  }) as unknown as F;
  return {
    fetch: tracked,
    idle: () => (active === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
    active: () => active,
  };
}

export type InFlight = { idle(): Promise<void>; active(): number };

/**
 * Stops accepting connections and waits for in-flight requests (handlers still running, and connections still
 * open). Idle keep-alive connections are closed at once (they would otherwise hold the server open); after the grace
 * period the connections still busy are cut, and their clients see a reset rather than a half-written answer (every
 * write happens inside a transaction, so none is half-stored).
 */
export async function drain(server: ServerType, graceMs: number, logger: Logger, inFlight?: InFlight): Promise<void> {
  const http = server as ServerType & { closeIdleConnections?: () => void; closeAllConnections?: () => void };
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  http.closeIdleConnections?.();
  const idleSweep = setInterval(() => http.closeIdleConnections?.(), 100);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
  const finished = Promise.all([closed, inFlight?.idle()]).then(() => 'drained' as const);
  const outcome = await Promise.race([finished, timeout]);
  clearInterval(idleSweep);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    logger.warn({ graceMs, active: inFlight?.active() }, 'grace period over: closing connections still busy');
    http.closeAllConnections?.();
    await closed;
  }
}
