// Body of a pairing thread: runs verifyGroth16Groups (src/zk/groth16-batch.ts) for the main thread. The messages carry plain
// data (the registered circuit, with its pinned key text, and the proofs as snarkjs strings and bigints); the key is
// parsed and checked against its pin here again, so a thread never trusts a prepared key it did not prepare.
import { parentPort } from 'node:worker_threads';
import type { RegisteredCircuit } from './circuit-registration.ts';
import { verifyGroth16Groups, type Groth16Item } from './groth16-batch.ts';
import { warmUpZk } from './groth16-pairing.ts';

export type PairingRequest =
  | { id: number; kind: 'verify'; circuit: RegisteredCircuit; groups: Groth16Item[][] }
  | { id: number; kind: 'warm-up'; circuit: RegisteredCircuit };
export type PairingReply = { id: number; ok: true; results: unknown } | { id: number; ok: false; name: string; message: string };

const port = parentPort;
if (!port) throw new Error('pairing-worker.ts runs only as a worker thread');

port.on('message', (request: PairingRequest) => {
  const work = request.kind === 'warm-up' ? warmUpZk(request.circuit) : verifyGroth16Groups(request.circuit, request.groups);
  work.then(
    (results) => port.postMessage({ id: request.id, ok: true, results: results ?? null } satisfies PairingReply),
    (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      port.postMessage({ id: request.id, ok: false, name: err.name, message: err.message } satisfies PairingReply);
    },
  );
});
