// Entry of the one-file recheck (npm run build:recheck -> dist/proofboard-recheck.cjs; docs/recheck.md "One file"):
// `proofboard recheck` for a third party who has node and nothing else. What the repository's command reads from the
// checkout, this file carries: the pinned circuits' verification keys and eval-set layouts, written in at build time
// by scripts/build-recheck.ts from the committed files (and checked against the pinned hashes again when used).
// The same file is also the body of its own pairing threads (workerData.role), since no other file is beside it.
import { setFlagsFromString } from 'node:v8';
import { isMainThread, Worker, workerData } from 'node:worker_threads';
import { z } from 'zod';
import type { PinnedCircuit } from '../recheck/pins.ts';
import { firstRequests, withEarlyAnswers } from './early-answers.ts';
import { CLAIM_ID } from './recheck-options.ts';
import { MAX_RESPONSE_BYTES } from './http-client.ts';
import { nodeHttpFetch } from './node-http-fetch.ts';
import { EXIT, reportError, wantsHelp } from './usage.ts';

type EmbeddedPin = { id: string; vkeySha256: string; vkey: string; evalSetCommitment: string; shardCommitments: string[] };
declare const PROOFBOARD_EMBEDDED_PINS: EmbeddedPin[];
declare const PROOFBOARD_BUILD: { commit: string; node: string };
// Set by the file's loader (scripts/build-recheck.ts): whether V8 took the compiled code the file carries ('used'),
// refused it (another node or other V8 flags than the build's), or was not given it (PROOFBOARD_RECHECK_CODE_CACHE=off).
declare const PROOFBOARD_CODE_CACHE: 'used' | 'refused' | 'off';

const ROLE = 'proofboard-pairing-thread';

// The build runs this as a script, not a module (no top-level await): the file's loader compiles it with V8's code
// cache (scripts/build-recheck.ts).
if (!isMainThread && (workerData as { role?: unknown } | null)?.role === ROLE) {
  void import('../zk/pairing-worker.ts');
} else {
  void main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.exitCode = reportError('recheck', '', err);
    },
  );
}

/** The command's exit code, as `proofboard recheck` gives it (docs/cli.md): errors are reported as main.ts does. */
async function main(argv: string[]): Promise<number> {
  if (argv[0] === '--version') return version();
  // As main.ts: --help or -h anywhere prints the usage and exits 0, whatever else the command line holds.
  if (wantsHelp(argv)) {
    console.log((await import('./recheck-command.ts')).HELP);
    return EXIT.ok;
  }
  tuneForColdStart(argv);
  const http = nodeHttpFetch(MAX_RESPONSE_BYTES);
  // Asked now, answered while the checking code below loads.
  const first = firstRequests(argv);
  const early = first ? withEarlyAnswers(http, first.server, first.paths) : undefined;
  let usage = '';
  try {
    const { recheckCommand, HELP } = await import('./recheck-command.ts');
    usage = HELP;
    return await recheckCommand(argv, {
      pins: memoisedPins(embeddedPins()),
      spawnPairingThread: () => new Worker(new URL(import.meta.url), { workerData: { role: ROLE } }),
      fetchImpl: early?.fetch ?? http,
      prepareKeysEarly: true,
    });
  } catch (err) {
    return reportError('recheck', usage, err);
  } finally {
    early?.close();
  }
}

/**
 * What the file is: its commit, whether V8 runs the compiled code it carries, and whether the pairing library's
 * set-up comes from its recording (src/zk/mcl-init-snapshot.ts), each found out here rather than assumed.
 */
async function version(): Promise<number> {
  const cache = {
    used: 'used',
    refused: `refused by V8 (this node is ${process.version} with its own flags; the file was built with node ${PROOFBOARD_BUILD.node})`,
    off: 'not used (PROOFBOARD_RECHECK_CODE_CACHE=off)',
  }[PROOFBOARD_CODE_CACHE];
  const [{ initMcl }, { mclInitWasReplayed }] = await Promise.all([import('../zk/bn254-mcl.ts'), import('../zk/mcl-init-snapshot.ts')]);
  await initMcl();
  const mcl = mclInitWasReplayed() ? 'from its recording' : 'run (its recording does not apply here)';
  console.log(`proofboard-recheck built from commit ${PROOFBOARD_BUILD.commit}; compiled code cache ${cache}; pairing library set-up ${mcl}`);
  return 0;
}

function embeddedPins(): Map<string, PinnedCircuit> {
  return new Map<string, PinnedCircuit>(
    PROOFBOARD_EMBEDDED_PINS.map((p) => [
      p.id,
      {
        vkeySha256: p.vkeySha256,
        // Parsing the key and checking its hash against the pin happen only when a proof is met; the pairing
        // library loads then too (src/zk/groth16-pairing.ts).
        load: async () => {
          const { registerCircuit } = await import('../zk/circuit-registration.ts');
          return { circuit: registerCircuit(p.id, p.vkey, p.vkeySha256), evalSetCommitment: p.evalSetCommitment, shardCommitments: p.shardCommitments };
        },
      },
    ]),
  );
}

/** Up to this many named claims (and no --task), the process is set up for a cold start (tuneForColdStart). */
const FEW_CLAIMS = 16;

/**
 * Settings of the engines under this process that only change how fast it gets going, not what it checks. A re-check
 * of a few named claims is mostly start-up (docs/recheck.md "Speed"); a board (--task) or many claims keep the
 * defaults, which pay off over many parses and pairings.
 * - zod without its JIT: it compiles a parser for each object schema the first time one is parsed (new Function),
 *   which a process that parses a handful of answers never earns back. Read when schemas are built, so set before
 *   the command's modules load. Results are the same: the JIT is only a faster path to them.
 * - WebAssembly (the pairing library) on V8's baseline compiler only: the optimising tier recompiles the hot pairing
 *   code on a background thread and swaps it in, which costs more than it saves on the pairings of a few claims.
 * - The young generation grows to its full size (16 MB) at its first scavenges instead of doubling: start-up keeps
 *   most of what it allocates (modules, schemas), and five scavenges copying it became two.
 */
function tuneForColdStart(argv: string[]): void {
  if (argv.includes('--task') || argv.filter((a) => CLAIM_ID.test(a)).length > FEW_CLAIMS) return;
  z.config({ jitless: true });
  setFlagsFromString('--liftoff-only');
  setFlagsFromString('--semi-space-growth-factor=16');
}

/** Each pin loaded once per process, however many proofs use it. */
function memoisedPins(pins: Map<string, PinnedCircuit>): Map<string, PinnedCircuit> {
  return new Map(
    [...pins].map(([id, pin]) => {
      let loaded: ReturnType<PinnedCircuit['load']> | undefined;
      return [id, { vkeySha256: pin.vkeySha256, load: () => (loaded ??= pin.load()) }];
    }),
  );
}
