// proofboard verifier: `keygen` makes a verifier operator's signing key; anything else is the long-running replay
// worker (./verifier-worker-command.ts), loaded only when asked for so that keygen never loads the sandbox code.
import { parseArgs } from 'node:util';
import { verifierKeyId } from '../attest/registry.ts';
import { defaultVerifierKeyPath, writeNewKeyFile } from './key-file.ts';
import { wantsHelp } from './usage.ts';

export const USAGE = `usage: proofboard verifier keygen [--out FILE]
       proofboard verifier replay --claim ID --out FILE [--server URL] [--gpus N]
       proofboard verifier [--server URL] [--key FILE] [--gpus N] [--tasks a,b] [--read-only DIR]... [--pass-env NAME]...
                           [--poll-ms MS] [--once]

  keygen --out FILE  where to write a new verifier key (default: $PROOFBOARD_VERIFIER_KEY or
                     ~/.config/proofboard/verifier-key.json); an existing file is never overwritten
  replay --claim ID --out FILE   replays one claim here, in the worker's sandbox with the task's harness, and
                     writes the result file for \`proofboard attest --result FILE\` (attesting by hand)
  Otherwise, runs the replay worker: it leases replay jobs, runs them in the sandbox, signs what the harness
  measured and posts it.
  --server URL       the service (default: $PROOFBOARD_SERVER or http://127.0.0.1:8080)
  --key FILE         the verifier key (default: $PROOFBOARD_VERIFIER_KEY or ~/.config/proofboard/verifier-key.json)
  --gpus N           GPUs this machine offers to a job (default 0); the worker refuses to start if they do not answer
  --tasks a,b        lease only jobs of these tasks
  --read-only DIR    a toolchain outside /usr to mount read-only into every job (repeatable)
  --pass-env NAME    a host variable to pass into every job (repeatable); the job's environment is otherwise empty
  --poll-ms MS       how long to wait between polls when there is no job (default 5000)
  --once             take at most one job, then stop`;


export async function verifierCommand(argv: string[]): Promise<number> {
  if (argv[0] === 'keygen') return keygen(argv.slice(1));
  if (argv[0] === 'replay') return (await import('./verifier-replay-command.ts')).verifierReplayCommand(argv.slice(1));
  if (argv[0] === 'help' || wantsHelp(argv)) {
    console.log(USAGE);
    return 0;
  }
  const { workerCommand } = await import('./verifier-worker-command.ts');
  return workerCommand(argv, USAGE);
}

async function keygen(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { out: { type: 'string', default: defaultVerifierKeyPath() } } });
  const key = writeNewKeyFile(values.out, 'proofboard verifier keygen');
  console.log(`wrote ${values.out}`);
  console.log(`public key ${key.publicKeyHex}`);
  console.log(`key id ${verifierKeyId(key.publicKeyHex)}`);
  console.log('Send the public key, your name and the tasks you run to the service operator; keep the file on this machine.');
  return 0;
}
