// Registration refuses a Groth16 key whose γ equals ±δ. With γ = δ the verifying equation no longer separates the
// public inputs from the proof: A = α, B = β, C = −vk_x(s) satisfies it for any public inputs s, so anyone can "prove"
// anything. The forgery below is built from the real digits-mlp key with γ replaced by δ, and plain snarkjs 0.7.6
// accepts it (its groth16 verify compares no key points), which is why proofboard checks the key where it is accepted.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { bn254 } from '@noble/curves/bn254.js';
import { afterAll, describe, expect, it } from 'vitest';
import { registerCircuit, type RegisteredCircuit } from '../../src/zk/circuit-registration.ts';
import type { Groth16Proof, ZkEvidence } from '../../src/zk/evidence-schema.ts';
import { circuitArtifacts, DIGITS_CIRCUIT_ID, DIGITS_VKEY_SHA256 } from '../../src/zk/example-task.ts';
import { verifyGroth16Batch } from '../../src/zk/groth16-batch.ts';
import { warmUpZk } from '../../src/zk/groth16-pairing.ts';
import { shutdownZk, snarkjsVerify } from '../../src/zk/snarkjs-wrapper.ts';
import { PUBLIC_SIGNALS } from '../../src/zk/statement.ts';

afterAll(shutdownZk);

type G2 = [[string, string], [string, string], ['1', '0']];
type Vkey = { vk_alpha_1: string[]; vk_beta_2: G2; vk_gamma_2: G2; vk_delta_2: G2; IC: string[][] };

const realJson = readFileSync(circuitArtifacts(DIGITS_CIRCUIT_ID).vkey, 'utf8');
const sha256Hex = (s: string) => createHash('sha256').update(s).digest('hex');
/** The real key with γ replaced, serialised as snarkjs does, and pinned by its own hash (the operator's pin). */
function keyWithGamma(gamma: (v: Vkey) => G2): { json: string; sha: string } {
  const v = JSON.parse(realJson) as Vkey;
  v.vk_gamma_2 = gamma(v);
  const json = JSON.stringify(v, null, 1);
  return { json, sha: sha256Hex(json) };
}
const Q = bn254.fields.Fp.ORDER;
const gammaIsDelta = keyWithGamma((v) => structuredClone(v.vk_delta_2));
const gammaIsMinusDelta = keyWithGamma(({ vk_delta_2: [x, y, z] }) => [x, [String((Q - BigInt(y[0])) % Q), String((Q - BigInt(y[1])) % Q)], z]);

const fixture = JSON.parse(readFileSync(new URL('fixtures/valid-evidence.json', import.meta.url), 'utf8')) as ZkEvidence;

/** A "proof" with no witness for the γ = δ key: A = α, B = β, C = −vk_x(signals). */
function forge(v: Vkey, signals: readonly bigint[]): Groth16Proof {
  const g1 = (p: readonly string[]) => bn254.G1.Point.fromAffine({ x: BigInt(p[0]!), y: BigInt(p[1]!) });
  const vkx = signals.reduce((acc, s, j) => (s === 0n ? acc : acc.add(g1(v.IC[j + 1]!).multiply(s))), g1(v.IC[0]!));
  const c = vkx.negate().toAffine();
  return {
    pi_a: [v.vk_alpha_1[0]!, v.vk_alpha_1[1]!, '1'],
    pi_b: v.vk_beta_2,
    pi_c: [c.x.toString(), c.y.toString(), '1'],
    protocol: 'groth16',
    curve: 'bn128',
  };
}

describe('registerCircuit', () => {
  it('accepts the committed digits-mlp key', () => {
    expect(registerCircuit(DIGITS_CIRCUIT_ID, realJson, DIGITS_VKEY_SHA256).nPublic).toBe(PUBLIC_SIGNALS.length);
  });

  it('refuses a key whose vk_gamma_2 equals vk_delta_2, naming both fields', () => {
    expect(() => registerCircuit(DIGITS_CIRCUIT_ID, gammaIsDelta.json, gammaIsDelta.sha)).toThrow(/vk_gamma_2 equals vk_delta_2/);
  });

  it('refuses a key whose vk_gamma_2 equals -vk_delta_2', () => {
    expect(() => registerCircuit(DIGITS_CIRCUIT_ID, gammaIsMinusDelta.json, gammaIsMinusDelta.sha)).toThrow(/vk_gamma_2 equals -vk_delta_2/);
  });

  it('the refused key is really forgeable: snarkjs accepts a witness-free proof of correct = 64 for it', async () => {
    const signals = fixture.shards[0]!.publicSignals.map(BigInt);
    signals[PUBLIC_SIGNALS.indexOf('correct')] = 64n;
    const bad: RegisteredCircuit = { id: DIGITS_CIRCUIT_ID, vkeyJson: gammaIsDelta.json, vkeySha256: gammaIsDelta.sha, nPublic: signals.length };
    const proof = forge(JSON.parse(gammaIsDelta.json) as Vkey, signals);
    expect(await snarkjsVerify(bad, proof, signals.map(String))).toBe(true);
    // proofboard's pairing path prepares only keys that pass registration's checks, even one that skipped registration
    // (a pairing thread gets the circuit as plain data).
    await expect(verifyGroth16Batch(bad, [{ proof, publicSignals: signals }])).rejects.toThrow(/vk_gamma_2 equals vk_delta_2/);
    await expect(warmUpZk(bad)).rejects.toThrow(/vk_gamma_2 equals vk_delta_2/);
  });
});
