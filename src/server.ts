// Starts the service: database, secrets, example task, HTTP server; stops it gracefully.
import { serve, type ServerType } from '@hono/node-server';
import { join } from 'node:path';
import { openDatabase, type Database } from '../db/client.ts';
import { FsBlobStore } from './blobs/blob-store.ts';
import { createApp } from './api/app.ts';
import type { Config } from './config.ts';
import type { AppContext } from './service/context.ts';
import { seedExampleTask } from './service/example-task.ts';
import { loadSecrets, type ServiceSecrets } from './service/secrets.ts';
import { logVerifierKey } from './service/log-read.ts';

export const LOG_ORIGIN_DEFAULT = 'proofboard.local/log';

export type RunningService = {
  ctx: AppContext;
  secrets: ServiceSecrets;
  url: string;
  close(): Promise<void>;
};

export async function buildContext(config: Config, database: Database, secrets: ServiceSecrets): Promise<AppContext> {
  return {
    db: database.db,
    driver: database.driver,
    blobs: new FsBlobStore(join(config.dataDir, 'blobs')),
    config: { ...config, operatorToken: secrets.operatorToken },
    now: () => new Date(),
    logSigner: { origin: process.env.PROOFBOARD_LOG_ORIGIN ?? LOG_ORIGIN_DEFAULT, secretKey: secrets.logSecretKey, publicKey: secrets.logPublicKey },
    auditKey: secrets.auditKey,
  };
}

export async function startService(config: Config, log: (line: string) => void = console.log): Promise<RunningService> {
  const secrets = loadSecrets(config.dataDir);
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  const ctx = await buildContext(config, database, secrets);
  await seedExampleTask(ctx);
  const app = createApp(ctx);
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(s));
  });
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
  let closing: Promise<void> | null = null;
  return {
    ctx,
    secrets,
    url,
    close: () =>
      (closing ??= (async () => {
        // Stop accepting, let in-flight requests finish, then close the database.
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await database.close();
      })()),
  };
}
