// The proofboard command: one subcommand per user action. Each returns an exit code; errors print one clear line.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.ts';
import { defaultKeyPath, writeNewKeyFile } from './key-file.ts';
import { submitCommand } from './submit-command.ts';
import { ApiError } from './http-client.ts';

const HELP = `proofboard <command> [options]

  serve                     run the API and web page (PORT, PROOFBOARD_DATA, DATABASE_URL)
  keygen [--out FILE]       make an Ed25519 submitter key (mode 0600)
  submit ...                sign and post a claim about a commit of the current repository
  prove ...                 compute zero-knowledge proofs for a model (see docs/zk.md)
  recheck ...               re-check claims on this machine without trusting the server (docs/recheck.md)
  verifier keygen [--out F] make a verifier operator's Ed25519 key (see docs/verifier-operators.md)
  verifier ...              run the replay worker (see docs/verifier-operators.md)
  attest ...                sign a replay result for a claim and post it (verifier operators)
  admin ...                 operator actions: tasks, verifier keys, revocation, parked replay jobs (see docs/operators.md)

Run 'proofboard <command> --help' for a command's options.`;

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  serve: async () => serveCommand,
  keygen: async () => keygenCommand,
  submit: async () => submitCommand,
  prove: async () => (await import('./prove-command.ts')).proveCommand,
  recheck: async () => (await import('./recheck-command.ts')).recheckCommand,
  verifier: async () => (await import('./verifier-command.ts')).verifierCommand,
  attest: async () => (await import('./attest-command.ts')).attestCommand,
  admin: async () => (await import('./admin-command.ts')).adminCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(HELP);
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    console.error(`proofboard: unknown command ${JSON.stringify(name)}\n\n${HELP}`);
    return 2;
  }
  try {
    return await (await load())(rest);
  } catch (err) {
    if (err instanceof ApiError && err.status > 0) console.error(`proofboard ${name}: server refused: ${err.message}`);
    else if (err instanceof Error && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`proofboard ${name}: ${err.message}`);
      return 2;
    } else console.error(`proofboard ${name}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

async function keygenCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { out: { type: 'string', default: defaultKeyPath() } } });
  const key = writeNewKeyFile(values.out);
  console.log(`wrote ${values.out}`);
  console.log(`public key ${key.publicKeyHex}`);
  return 0;
}

async function serveCommand(argv: string[]): Promise<number> {
  parseArgs({ args: argv, options: {} });
  const { startService } = await import('../server.ts');
  const service = await startService(loadConfig());
  const { startInProcessWorker } = await import('./in-process-worker.ts');
  await startInProcessWorker(service, (line) => console.log(line));
  console.log(`log public key (Ed25519, hex): ${Buffer.from(service.secrets.logPublicKey).toString('hex')}`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  console.log('shutting down: finishing in-flight requests');
  await service.close();
  return 0;
}
