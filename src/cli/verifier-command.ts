// proofboard verifier: `keygen` makes a verifier operator's signing key; anything else is the long-running replay
// worker (src/replay/worker-command.ts), loaded only when asked for so that keygen works on a machine without it.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { verifierKeyId } from '../service/verifier-keys.ts';
import { writeNewKeyFile } from './key-file.ts';

const USAGE = `usage: proofboard verifier keygen [--out FILE]
       proofboard verifier --server URL --key FILE [worker options]   (the replay worker)`;

type WorkerModule = { workerCommand: (argv: string[]) => Promise<number> };

/** A verifier key is not a submitter key: a separate default path keeps the two roles from sharing one secret. */
export function defaultVerifierKeyPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.PROOFBOARD_VERIFIER_KEY ?? join(homedir(), '.config', 'proofboard', 'verifier-key.json');
}

export async function verifierCommand(argv: string[]): Promise<number> {
  if (argv[0] === 'keygen') return keygen(argv.slice(1));
  if (argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    console.log(USAGE);
    return 0;
  }
  const worker = await loadWorker();
  if (!worker) {
    console.error('proofboard verifier: the replay worker is not available in this build (src/replay/worker-command.ts)');
    console.error(USAGE);
    return 2;
  }
  return worker.workerCommand(argv);
}

async function keygen(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { out: { type: 'string', default: defaultVerifierKeyPath() } } });
  const key = writeNewKeyFile(values.out);
  console.log(`wrote ${values.out}`);
  console.log(`public key ${key.publicKeyHex}`);
  console.log(`key id ${verifierKeyId(key.publicKeyHex)}`);
  console.log('Send the public key, your name and the tasks you run to the service operator; keep the file on this machine.');
  return 0;
}

async function loadWorker(): Promise<WorkerModule | null> {
  const url = new URL('../replay/worker-command.ts', import.meta.url);
  if (!existsSync(url)) return null;
  // A computed specifier: the worker is another engineer's module and may not exist yet when this one is type-checked.
  const specifier: string = url.href;
  const mod = (await import(specifier)) as Partial<WorkerModule>;
  if (typeof mod.workerCommand !== 'function') return null;
  return mod as WorkerModule;
}
