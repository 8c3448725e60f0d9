// Circuits pinned by this repository: the verification-key hashes committed in the code (src/zk/example-task.ts),
// never the server's word. The evaluation layout (eval-set and shard commitments) is recomputed from the committed
// eval split, so a server cannot swap the data a proof is about either.
import { DIGITS_CIRCUIT_ID, DIGITS_VKEY_SHA256, loadExampleTask } from '../zk/example-task.ts';
import type { RegisteredCircuit } from '../zk/circuit-registration.ts';

export type PinnedCircuit = {
  vkeySha256: string;
  /** The repository's own key and eval layout; loaded only when a proof is checked (about a second, once). */
  load(): Promise<{ circuit: RegisteredCircuit; evalSetCommitment: string; shardCommitments: readonly string[] }>;
};

export function repositoryPins(): Map<string, PinnedCircuit> {
  return new Map([
    [
      DIGITS_CIRCUIT_ID,
      {
        vkeySha256: DIGITS_VKEY_SHA256,
        load: async () => {
          const t = await loadExampleTask();
          return { circuit: t.circuit, evalSetCommitment: t.evalSetCommitment, shardCommitments: t.shardCommitments };
        },
      },
    ],
  ]);
}
