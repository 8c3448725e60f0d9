// Entry of the one-file recheck (npm run build:recheck -> dist/proofboard-recheck.mjs; docs/recheck.md "One file"):
// `proofboard recheck` for a third party who has node and nothing else. What the repository's command reads from the
// checkout, this file carries: the pinned circuits' verification keys and eval-set layouts, written in at build time
// by scripts/build-recheck.ts from the committed files (and checked against the pinned hashes again when used).
// The same file is also the body of its own pairing threads (workerData.role), since no other file is beside it.
import { isMainThread, Worker, workerData } from 'node:worker_threads';
import type { PinnedCircuit } from '../recheck/pins.ts';
import { MAX_RESPONSE_BYTES } from './http-client.ts';
import { nodeHttpFetch } from './node-http-fetch.ts';

type EmbeddedPin = { id: string; vkeySha256: string; vkey: string; evalSetCommitment: string; shardCommitments: string[] };
declare const PROOFBOARD_EMBEDDED_PINS: EmbeddedPin[];
declare const PROOFBOARD_BUILD: { commit: string };

const ROLE = 'proofboard-pairing-thread';

if (!isMainThread && (workerData as { role?: unknown } | null)?.role === ROLE) {
  await import('../zk/pairing-worker.ts');
} else {
  process.exitCode = await main(process.argv.slice(2));
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === '--version') {
    console.log(`proofboard-recheck built from commit ${PROOFBOARD_BUILD.commit}`);
    return 0;
  }
  const { recheckCommand } = await import('./recheck-command.ts');
  const pins = new Map<string, PinnedCircuit>(
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
  return recheckCommand(argv, {
    pins: memoisedPins(pins),
    spawnPairingThread: () => new Worker(new URL(import.meta.url), { workerData: { role: ROLE } }),
    replayAvailable: false,
    fetchImpl: nodeHttpFetch(MAX_RESPONSE_BYTES),
  });
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
