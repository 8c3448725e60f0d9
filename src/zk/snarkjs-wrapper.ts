// The one typed wrapper around snarkjs (STYLE rule 5): nothing else imports it (test/zk/imports.test.ts). snarkjs
// proves (for submitters) and is the benchmark's baseline verifier; proofboard's own verification never runs it (it
// runs src/zk/verify.ts on mcl-wasm, with the key pin, signal and point checks snarkjs lacks). Loaded only when asked
// for, because it starts worker threads that keep a process alive until shutdownZk.
import type { RegisteredCircuit } from './circuit-registration.ts';
import { groth16ProofSchema, type Groth16Proof } from './evidence-schema.ts';

type Snarkjs = typeof import('snarkjs');
let snarkjsP: Promise<Snarkjs> | undefined;
const snarkjs = () => (snarkjsP ??= import('snarkjs'));

/** Plain snarkjs.groth16.verify, for comparison only: it does none of the checks of verifyZkEvidence. */
export async function snarkjsVerify(circuit: RegisteredCircuit, proof: Groth16Proof, publicSignals: readonly string[]): Promise<boolean> {
  return (await snarkjs()).groth16.verify(JSON.parse(circuit.vkeyJson), publicSignals, proof);
}

/**
 * Groth16 prove with a circuit's wasm and proving key: the witness, then the proof. `onWitness` is called between the
 * two (a progress hook: the proof is the slow part, several seconds for the digits circuit).
 */
export async function proveGroth16(
  input: unknown,
  wasm: string | Uint8Array,
  zkey: string | Uint8Array,
  onWitness?: () => void,
): Promise<{ proof: Groth16Proof; publicSignals: string[] }> {
  const s = await snarkjs();
  const wtns: { type: 'mem'; data?: Uint8Array } = { type: 'mem' };
  await s.wtns.calculate(input, wasm, wtns);
  onWitness?.();
  const r = await s.groth16.prove(zkey, wtns);
  return { proof: groth16ProofSchema.parse(r.proof), publicSignals: r.publicSignals };
}

/** The witness for an input (index 0 is the constant 1, then outputs, then public inputs...). */
export async function calculateWitness(input: unknown, wasm: string | Uint8Array): Promise<bigint[]> {
  const s = await snarkjs();
  const out: { type: 'mem'; data?: Uint8Array } = { type: 'mem' };
  await s.wtns.calculate(input, wasm, out);
  return s.wtns.exportJson(out);
}

/** Lets the process exit: snarkjs keeps worker threads alive until its curve is terminated. */
export async function shutdownZk(): Promise<void> {
  if (!snarkjsP) return;
  const g = globalThis as { curve_bn128?: { terminate(): Promise<void> | void } };
  await g.curve_bn128?.terminate();
  delete g.curve_bn128;
}
