// What `proofboard prove --task T` proves with when the task's circuit was registered through the API: the circuit's
// key, eval-set layout and build files from GET /v1/tasks/{id}, each file fetched by digest and checked before use.
// Nothing the server sends is trusted on its word: the key must hash to its pin and be a usable Groth16 key, every
// file must hash to its pin, and the evaluation rows must fold to the eval-set commitment the proofs will be checked
// against (otherwise proving would take minutes and end in a proof the server refuses).
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { circuitBuildSchema } from '../zk/circuit-build.ts';
import { registerCircuit } from '../zk/circuit-registration.ts';
import { evalSetLayout, parseDigitsCsv, type EvalRow } from '../zk/reference-evaluator.ts';
import { apiDownload, apiRequest } from './http-client.ts';

const taskCircuitsSchema = z.object({
  circuits: z.array(
    z.object({
      id: z.string(),
      vkeySha256: z.string(),
      vkey: z.string(),
      params: z.object({ evalSetCommitment: z.string(), shardCommitments: z.array(z.string()) }),
      build: circuitBuildSchema.nullable().optional(),
    }),
  ),
});

export type FetchedCircuit = { circuitId: string; artifacts: { wasm: string; zkey: string }; rows: EvalRow[]; cleanup: () => void };

export async function fetchTaskCircuit(server: string, taskId: string, circuitId?: string): Promise<FetchedCircuit> {
  const { body } = await apiRequest(server, 'GET', `/v1/tasks/${encodeURIComponent(taskId)}`);
  const parsed = taskCircuitsSchema.safeParse(body);
  if (!parsed.success) throw new Error(`task ${taskId}: the server's answer lists no usable circuits`);
  const withBuild = parsed.data.circuits.filter((c) => c.build && (!circuitId || c.id === circuitId));
  const circuit = withBuild[0];
  if (!circuit?.build) throw new Error(`task ${taskId}: no circuit${circuitId ? ` ${circuitId}` : ''} with build files is registered`);
  if (withBuild.length > 1 && !circuitId) throw new Error(`task ${taskId}: several circuits (${withBuild.map((c) => c.id).join(', ')}); name one with --circuit`);
  // Throws unless the key hashes to its pin and is a usable Groth16 BN254 key.
  registerCircuit(circuit.id, circuit.vkey, circuit.vkeySha256);
  const dir = mkdtempSync(join(tmpdir(), 'proofboard-circuit-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    const fetchPinned = async (name: keyof typeof circuit.build & string) => {
      const pin = circuit.build![name];
      const bytes = await apiDownload(server, `/v1/blobs/sha256:${pin.sha256}`, pin.bytes);
      const got = createHash('sha256').update(bytes).digest('hex');
      if (got !== pin.sha256 || bytes.length !== pin.bytes) throw new Error(`circuit ${circuit.id}: ${name} from the server is not the pinned file (sha256 ${got})`);
      return bytes;
    };
    const wasm = join(dir, `${circuit.id}.wasm`);
    const zkey = join(dir, `${circuit.id}.zkey`);
    writeFileSync(wasm, await fetchPinned('wasm'));
    writeFileSync(zkey, await fetchPinned('zkey'));
    const rows = parseDigitsCsv(new TextDecoder('utf-8', { fatal: true }).decode(await fetchPinned('evalData')));
    const layout = await evalSetLayout(rows);
    const same =
      layout.evalSetCommitment.toString(10) === circuit.params.evalSetCommitment &&
      layout.shardCommitments.length === circuit.params.shardCommitments.length &&
      layout.shardCommitments.every((c, i) => c.toString(10) === circuit.params.shardCommitments[i]);
    if (!same) throw new Error(`circuit ${circuit.id}: the evaluation rows do not fold to the registered eval-set commitment`);
    return { circuitId: circuit.id, artifacts: { wasm, zkey }, rows, cleanup };
  } catch (e) {
    cleanup();
    throw e;
  }
}
