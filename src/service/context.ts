// What every service function receives: storage, configuration, the clock and the trust material.
import type { Db } from '../../db/client.ts';
import type { BlobStore } from '../blobs/blob-store.ts';
import type { Config } from '../config.ts';
import type { ReadCache } from './storage/read-cache.ts';

export type LogSigner = { origin: string; secretKey: Uint8Array; publicKey: Uint8Array };

export type AppContext = {
  db: Db;
  driver: 'pglite' | 'postgres';
  blobs: BlobStore;
  config: Config;
  /** The clock is injected so that tests and replays decide what "now" is. */
  now: () => Date;
  logSigner: LogSigner;
  /** Secret for unpredictable audit selection (a keyed choice submitters cannot compute). */
  auditKey: Uint8Array;
  /**
   * The public reads' cache, kept true by the database's change notifications (read-cache.ts). Absent, or present but
   * not listening, means every read goes to the database: a context without a listener is never silently stale.
   */
  readCache?: ReadCache;
};
