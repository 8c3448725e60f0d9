// A service context over a test database: real blob store in a temp folder, fixed secrets, real clock.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBlobStore } from '../../src/blobs/blob-store.ts';
import { loadConfig } from '../../src/config.ts';
import type { AppContext } from '../../src/service/context.ts';
import { ed25519PublicKey } from '../../src/attest/ed25519.ts';
import { seedExampleTask } from '../../src/service/example-task.ts';
import { openTestDatabase, type DatabaseKind } from './databases.ts';
import { listenPglite, type Database } from '../../db/client.ts';
import { ReadCache } from '../../src/service/storage/read-cache.ts';
import type { PGlite } from '@electric-sql/pglite';

export const OPERATOR_TOKEN = 'test-operator-token-0123456789';

/**
 * A context on a fresh database with the example task seeded, as `serve` starts. `seedExampleTask: false` leaves the
 * log empty, for the suites that count its leaves from zero.
 */
export async function makeTestContext(kind: DatabaseKind, overrides: Partial<AppContext> = {}, options: { seedExampleTask?: boolean } = {}) {
  const database = await openTestDatabase(kind);
  const dir = mkdtempSync(join(tmpdir(), 'proofboard-test-'));
  const logSecret = new Uint8Array(32).fill(7);
  // The read cache is on, as in `serve`, so every suite that reads after a write also checks that no read is stale.
  const readCache = new ReadCache();
  const unlisten = await readCache.listenTo(listenableDatabase(database));
  const ctx: AppContext = {
    db: database.db,
    driver: database.driver,
    blobs: new FsBlobStore(join(dir, 'blobs')),
    config: { ...loadConfig({}), dataDir: dir, operatorToken: OPERATOR_TOKEN },
    now: () => new Date(),
    logSigner: { origin: 'test.proofboard/log', secretKey: logSecret, publicKey: ed25519PublicKey(logSecret) },
    auditKey: new Uint8Array(32).fill(9),
    readCache,
    ...overrides,
  };
  if (options.seedExampleTask !== false) await seedExampleTask(ctx);
  return {
    ctx,
    dir,
    readCache,
    database,
    close: async () => {
      await unlisten();
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The test PGlite is opened without openDatabase; its listener is made here from the drizzle instance's client. */
function listenableDatabase(database: Database): Pick<Database, 'listen'> {
  if (database.listen || database.driver !== 'pglite') return database;
  const client = (database.db as unknown as { $client: PGlite }).$client;
  return { listen: (channel, handlers) => listenPglite(client, channel, handlers) };
}
