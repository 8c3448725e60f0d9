// Verification keys as the operator registers them: exact bytes pinned by SHA-256 (keys come from the operator, never
// from a client), parsed into the snarkjs Groth16 layout and refused when unusable, at registration and again
// wherever a key is prepared for pairing, so no path uses a key these checks did not pass.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { BASE_FIELD_MODULUS as Q } from './bn254-mcl.ts';
import { decimalSchema } from './evidence-schema.ts';

/** A circuit the operator registered: its verification key as exact bytes, pinned by SHA-256. */
export type RegisteredCircuit = {
  id: string;
  /** The verification key JSON exactly as registered (snarkjs `zkey export verificationkey`). */
  vkeyJson: string;
  /** Hex SHA-256 of vkeyJson, pinned at registration. */
  vkeySha256: string;
  /** Public signals the key takes (IC length − 1); the statement layout expects src/zk/statement.ts's count. */
  nPublic: number;
};

const g2Point = z.array(z.array(decimalSchema).length(2)).length(3);
const vkeySchema = z.object({
  protocol: z.literal('groth16'),
  curve: z.literal('bn128'),
  nPublic: z.number().int().min(1).max(64),
  vk_alpha_1: z.array(decimalSchema).length(3),
  vk_beta_2: g2Point,
  vk_gamma_2: g2Point,
  vk_delta_2: g2Point,
  IC: z.array(z.array(decimalSchema).length(3)).min(2).max(65),
});
export type VerificationKey = z.infer<typeof vkeySchema>;

/** A G2 point's affine coordinates (x.c0, x.c1, y.c0, y.c1), as the pairing code reads them (src/zk/curve-points.ts). */
const affineG2 = (p: readonly (readonly string[])[]) => [p[0]![0]!, p[0]![1]!, p[1]![0]!, p[1]![1]!].map((s) => BigInt(s) % Q);

/** The key's JSON parsed and checked; throws, naming the field, if it is not a usable Groth16 BN254 key. */
function parseVerificationKey(id: string, json: string): VerificationKey {
  const v = vkeySchema.parse(JSON.parse(json));
  if (v.IC.length !== v.nPublic + 1) throw new Error(`circuit ${id}: verification key: IC length differs from nPublic + 1`);
  // Threat: with γ = ±δ the verifying equation's e(vk_x, −γ)·e(C, −δ) collapses to one pairing e(vk_x ± C, −γ), so a
  // prover can move the public inputs' term into C: a proof of one statement then verifies for any public inputs (the
  // public signals, and with them every binding to the claim, stop counting). A sound setup draws γ and δ
  // independently; equality means a placeholder key or a broken ceremony.
  const [gamma, delta] = [affineG2(v.vk_gamma_2), affineG2(v.vk_delta_2)];
  if (gamma.every((c, i) => c === delta[i])) {
    throw new Error(`circuit ${id}: verification key refused: vk_gamma_2 equals vk_delta_2 (a degenerate setup: proofs are forgeable)`);
  }
  const negDelta = [delta[0], delta[1], (Q - delta[2]!) % Q, (Q - delta[3]!) % Q];
  if (gamma.every((c, i) => c === negDelta[i])) {
    throw new Error(`circuit ${id}: verification key refused: vk_gamma_2 equals -vk_delta_2 (a degenerate setup: proofs are forgeable)`);
  }
  return v;
}

const sha256Hex = (s: string) => createHash('sha256').update(s).digest('hex');

/** Threat: a verification key swapped in storage or in memory would accept proofs of anything. */
export function vkeyMatchesPin(circuit: Pick<RegisteredCircuit, 'vkeyJson' | 'vkeySha256'>): boolean {
  return sha256Hex(circuit.vkeyJson) === circuit.vkeySha256;
}

/** Builds a RegisteredCircuit from vkey bytes and the pin the operator registered; throws if they differ or the key is unusable. */
export function registerCircuit(id: string, vkeyJson: string, vkeySha256: string): RegisteredCircuit {
  return { id, vkeyJson, vkeySha256, nPublic: registeredKey({ id, vkeyJson, vkeySha256 }).IC.length - 1 };
}

/**
 * The parsed key of a registered circuit, its pin and its safety checked again: a pairing thread receives the circuit
 * as plain data, so it prepares only what passes the same checks as registration.
 */
export function registeredKey(circuit: Pick<RegisteredCircuit, 'id' | 'vkeyJson' | 'vkeySha256'>): VerificationKey {
  if (!vkeyMatchesPin(circuit)) throw new Error(`circuit ${circuit.id}: verification key does not match its pin`);
  return parseVerificationKey(circuit.id, circuit.vkeyJson);
}
