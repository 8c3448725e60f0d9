// `proofboard serve` runs one replay worker in its own process when the sandbox is available, so a single machine
// on the embedded database settles replay-bound claims with nothing else started. It speaks HTTP to its own server,
// exactly as a remote operator's worker does.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { checkSandboxAvailable } from '../replay/sandbox.ts';
import { runWorker } from '../replay/worker.ts';
import type { RunningService } from '../server.ts';
import { ensureServiceWorkerKey } from '../service/actions/service-worker-key.ts';
import { readKeyFile, writeNewKeyFile } from './key-file.ts';

export async function startInProcessWorker(service: RunningService, log: (line: string) => void): Promise<boolean> {
  if (!service.ctx.config.inProcessWorker) return false;
  const sandbox = await checkSandboxAvailable();
  if (!sandbox.available) {
    log(`replay worker: not started, the sandbox is unavailable (${sandbox.missing.join('; ')}); replay-bound claims wait for an external verifier`);
    return false;
  }
  const keyPath = join(service.ctx.config.dataDir, 'secrets', 'worker-key.json');
  const key = existsSync(keyPath) ? readKeyFile(keyPath) : writeNewKeyFile(keyPath);
  await ensureServiceWorkerKey(service.ctx, key.publicKeyHex);
  const controller = new AbortController();
  const loop = runWorker({
    server: service.url,
    secretKey: key.secretKey,
    signal: controller.signal,
    pollMs: 2000,
    heartbeatMs: Math.max(1000, Math.floor(service.ctx.config.leaseMs / 4)),
    log: (line) => service.logger.info({ component: 'replay-worker' }, line),
  }).catch((e) => service.logger.error({ err: e }, 'replay worker stopped'));
  service.onClose(async () => {
    controller.abort();
    // A job still running is handed back by the worker's abort handler; its sandbox dies with this process.
    await Promise.race([loop, new Promise((r) => setTimeout(r, 2000))]);
  });
  log('replay worker: running in-process');
  return true;
}
