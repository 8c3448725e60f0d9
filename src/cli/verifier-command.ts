// proofboard verifier: `keygen` makes a verifier operator's signing key; anything else is the long-running replay
// worker (./verifier-worker-command.ts), loaded only when asked for so that keygen never loads the sandbox code.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { verifierKeyId } from '../attest/registry.ts';
import { writeNewKeyFile } from './key-file.ts';

const USAGE = `usage: proofboard verifier keygen [--out FILE]
       proofboard verifier --server URL --key FILE [worker options]   (the replay worker)`;

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
  const { workerCommand } = await import('./verifier-worker-command.ts');
  return workerCommand(argv);
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
