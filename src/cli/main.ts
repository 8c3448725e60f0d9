// The proofboard command: one subcommand per user action. Each returns an exit code (src/cli/usage.ts, docs/cli.md);
// errors print one clear line.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.ts';
import { defaultKeyPath, writeNewKeyFile } from './key-file.ts';
import { EXIT, reportError, wantsHelp } from './usage.ts';

const HELP = `proofboard <command> [options]

  serve                     run the API and web page (PORT, PROOFBOARD_DATA, DATABASE_URL)
  keygen [--out FILE]       make an Ed25519 submitter key (mode 0600)
  submit ...                sign and post a claim about a commit of the current repository
  prove ...                 compute zero-knowledge proofs for a model (see docs/zk.md)
  recheck ...               re-check claims on this machine without trusting the server (docs/recheck.md)
  verifier keygen [--out F] make a verifier operator's Ed25519 key (see docs/verifier-operators.md)
  verifier ...              run the replay worker (see docs/verifier-operators.md)
  attest ...                sign a replay result for a claim and post it (verifier operators)
  admin ...                 operator actions: tasks, verifier keys, revocation, audit trail, parked replay jobs
                            (see docs/operators.md)
  witness ...               cosign a log's checkpoints, C2SP tlog-witness (see docs/transparency-log.md)
  mirror ...                copy a board, re-check the copy, serve it (see docs/transparency-log.md)

  --version                 print the version
Run 'proofboard <command> --help' for a command's options. Exit codes: 0 done, 1 refused or failed, 2 usage error,
3 server unreachable (docs/cli.md).`;

const SERVE_USAGE = `usage: proofboard serve

  Runs the API and the web page. No options: it is configured by the environment (docs/configuration.md):
  PORT, HOST, PROOFBOARD_DATA (default ./.proofboard), DATABASE_URL (PostgreSQL; else the embedded database),
  PROOFBOARD_OPERATOR_TOKEN, PROOFBOARD_PUBLIC_URL, PROOFBOARD_WORKER (on|off: the service's own replay worker).`;

const KEYGEN_USAGE = `usage: proofboard keygen [--out FILE]

  --out FILE   where to write the new submitter key (default: $PROOFBOARD_KEY or ~/.config/proofboard/key.json).
               An existing file is never overwritten: it may be the only copy of a key.`;

type Command = (argv: string[]) => Promise<number>;
type Loaded = { run: Command; usage: string };

/** The usage text a command module exports (USAGE or HELP), or the line of this file's HELP that names it. */
function usageOf(mod: Record<string, unknown>, name: string): string {
  const text = mod.USAGE ?? mod.HELP;
  if (typeof text === 'string') return text;
  return HELP.split('\n').filter((l) => l.trimStart().startsWith(`${name} `)).join('\n');
}

const commands: Record<string, () => Promise<Loaded>> = {
  serve: async () => ({ run: serveCommand, usage: SERVE_USAGE }),
  keygen: async () => ({ run: keygenCommand, usage: KEYGEN_USAGE }),
  submit: async () => {
    const mod = await import('./submit-command.ts');
    return { run: mod.submitCommand, usage: usageOf(mod, 'submit') };
  },
  prove: async () => {
    const mod = await import('./prove-command.ts');
    return { run: mod.proveCommand, usage: usageOf(mod, 'prove') };
  },
  recheck: async () => {
    const [mod, { loadReplay }] = await Promise.all([import('./recheck-command.ts'), import('./recheck-replay-loader.ts')]);
    return { run: (argv) => mod.recheckCommand(argv, { loadReplay }), usage: usageOf(mod, 'recheck') };
  },
  verifier: async () => {
    const mod = await import('./verifier-command.ts');
    return { run: mod.verifierCommand, usage: mod.USAGE };
  },
  attest: async () => {
    const mod = await import('./attest-command.ts');
    return { run: mod.attestCommand, usage: mod.USAGE };
  },
  admin: async () => {
    const mod = await import('./admin-command.ts');
    return { run: mod.adminCommand, usage: mod.USAGE };
  },
  witness: async () => {
    const mod = await import('./witness-command.ts');
    return { run: mod.witnessCommand, usage: mod.USAGE };
  },
  mirror: async () => {
    const mod = await import('./mirror-command.ts');
    return { run: mod.mirrorCommand, usage: mod.USAGE };
  },
};

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    console.log(`proofboard ${version()}`);
    return EXIT.ok;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(HELP);
    return name ? EXIT.ok : EXIT.usage;
  }
  const load = commands[name];
  if (!load) {
    console.error(`proofboard: unknown command ${JSON.stringify(name)}\n\n${HELP}`);
    return EXIT.usage;
  }
  const command = await load();
  if (wantsHelp(rest)) {
    console.log(command.usage);
    return EXIT.ok;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    return reportError(name, command.usage, err);
  }
}

async function keygenCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { out: { type: 'string', default: defaultKeyPath() } } });
  const key = writeNewKeyFile(values.out, 'proofboard keygen');
  console.log(`wrote ${values.out}`);
  console.log(`public key ${key.publicKeyHex}`);
  return EXIT.ok;
}

async function serveCommand(argv: string[]): Promise<number> {
  parseArgs({ args: argv, options: {} });
  const config = loadConfig();
  // Creating the embedded database takes seconds and most of a gigabyte the first time: say so before the wait.
  if (!config.databaseUrl && !existsSync(join(config.dataDir, 'pglite'))) {
    console.log(`creating the embedded database in ${join(config.dataDir, 'pglite')} (first start: a few seconds)...`);
  }
  const { startService } = await import('../server.ts');
  const service = await startService(config);
  console.log('publish the log key above: third parties pin it with `proofboard recheck --log-key KEY` (docs/recheck.md)');
  const { startInProcessWorker } = await import('./in-process-worker.ts');
  const working = await startInProcessWorker(service, (line) => console.log(line));
  if (working) console.log('replay worker: claims without evidence are re-run on this machine and signed with the service\'s own worker key');
  else if (!config.inProcessWorker) {
    console.log('replay worker: off (PROOFBOARD_WORKER=off); claims without evidence stay pending until a verifier operator replays them');
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  console.log('shutting down: finishing in-flight requests');
  await service.close();
  return EXIT.ok;
}
