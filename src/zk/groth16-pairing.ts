// The Groth16 verifying equation (eprint 2016/260, §3.2) on mcl-wasm: a registered key prepared once per process
// (−α, β, −γ, −δ, IC points), one proof checked alone, or many proofs of one key checked together with random
// weights and one final exponentiation. Callers (src/zk/groth16-batch.ts) hand over points already checked and
// signals already counted and range-checked.
//
// e(α,β) is never computed on its own: (−α, β) is one more pair of the multi-Miller loop, and the product is compared
// with 1. The same equation (e(−α,β) = e(α,β)⁻¹), without a pairing per key (most of preparing a key, paid by every
// cold re-check) or a power of e(α,β) per batch.
import { getRandomValues } from 'node:crypto';
import { frFrom, initMcl, mcl, millerLoopVec } from './bn254-mcl.ts';
import { registeredKey, type RegisteredCircuit } from './circuit-registration.ts';
import { g1From, g2From } from './curve-points.ts';
import { FIELD_MODULUS } from './statement.ts';

export type PreparedKey = {
  negAlpha: mcl.G1;
  beta: mcl.G2;
  negGamma: mcl.G2;
  negDelta: mcl.G2;
  ic: mcl.G1[];
};
// Promises, so that a key being prepared (a warm-up while the first answers are awaited) is not prepared twice by a
// proof that arrives meanwhile. A key that failed is forgotten: the next use fails again, naming why.
const prepared = new Map<string, Promise<PreparedKey>>();

/** One proof as the equation takes it: checked points and the public-input scalars. */
export type ProofPoints = { a: mcl.G1; b: mcl.G2; c: mcl.G1; signals: readonly bigint[] };

/** A registered circuit's key, prepared on first use; its pin and safety are checked again first (registeredKey). */
export function preparedKey(circuit: RegisteredCircuit): Promise<PreparedKey> {
  const hit = prepared.get(circuit.vkeySha256);
  if (hit) return hit;
  const p = prepareKey(circuit);
  prepared.set(circuit.vkeySha256, p);
  p.catch(() => prepared.delete(circuit.vkeySha256));
  return p;
}

async function prepareKey(circuit: RegisteredCircuit): Promise<PreparedKey> {
  await initMcl();
  const v = registeredKey(circuit);
  return {
    negAlpha: mcl.neg(g1From(v.vk_alpha_1, 'vk.alpha')),
    beta: g2From(v.vk_beta_2, 'vk.beta'),
    negGamma: mcl.neg(g2From(v.vk_gamma_2, 'vk.gamma')),
    negDelta: mcl.neg(g2From(v.vk_delta_2, 'vk.delta')),
    ic: v.IC.map((pt, i) => g1From(pt, `vk.IC[${i}]`)),
  };
}

/**
 * Loads the pairing library and prepares a circuit's key (-α, β, -γ, -δ, IC points) so that the first request
 * does not pay for it; a server calls this at start for every registered circuit.
 */
export async function warmUpZk(circuit: RegisteredCircuit): Promise<void> {
  await preparedKey(circuit);
}

/** A uniformly random 128-bit nonzero scalar from the OS CSPRNG (batch verification weights). */
function randomScalar(): bigint {
  for (;;) {
    const b = getRandomValues(new Uint8Array(16));
    const v = b.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
    if (v !== 0n) return v;
  }
}

/** e(A,B) · e(vk_x,-γ) · e(C,-δ) · e(-α,β) == 1 (that is, == e(α,β)), with vk_x = IC0 + Σ s_j IC_j. */
export function checkOne(p: PreparedKey, it: ProofPoints): boolean {
  const vkx = mcl.add(p.ic[0]!, mcl.mulVec(p.ic.slice(1), it.signals.map(frFrom)));
  return mcl.finalExp(millerLoopVec([it.a, vkx, it.c, p.negAlpha], [it.b, p.negGamma, p.negDelta, p.beta])).isOne();
}

/**
 * Checks n proofs of one circuit with one final exponentiation: with fresh random r_i,
 * Π e(r_i·A_i, B_i) · e(Σ r_i·vk_x_i, -γ) · e(Σ r_i·C_i, -δ) · e(-(Σ r_i)·α, β) == 1 (that is, == e(α,β)^(Σ r_i)).
 * A cheating prover who does not know the r_i passes with probability about 2^-128 (the r_i come from the OS
 * CSPRNG after every proof is fixed, so proofs from different claims cannot be made to cancel each other).
 */
export function checkCombined(p: PreparedKey, parsed: readonly ProofPoints[]): boolean {
  if (parsed.length === 1) return checkOne(p, parsed[0]!);
  const nPub = p.ic.length - 1;
  const r = parsed.map(randomScalar);
  // Σ_i r_i·vk_x_i = (Σ r_i)·IC0 + Σ_j (Σ_i r_i·s_ij)·IC_j: the scalars are folded in BigInt (mod the group order)
  // and the key's IC points see one multi-scalar multiplication per batch.
  let rSum = 0n;
  const coeff: bigint[] = new Array(nPub).fill(0n);
  parsed.forEach((it, i) => {
    const ri = r[i]!;
    rSum += ri;
    for (let j = 0; j < nPub; j++) coeff[j] = coeff[j]! + ri * it.signals[j]!;
  });
  const rFr = r.map(frFrom);
  const rSumFr = frFrom(rSum % FIELD_MODULUS);
  const vkx = mcl.mulVec(p.ic, [rSumFr, ...coeff.map((c) => frFrom(c % FIELD_MODULUS))]);
  const cSum = mcl.mulVec(
    parsed.map((it) => it.c),
    rFr,
  );
  const ml = millerLoopVec(
    [...parsed.map((it, i) => mcl.mul(it.a, rFr[i]!)), vkx, cSum, mcl.mul(p.negAlpha, rSumFr)],
    [...parsed.map((it) => it.b), p.negGamma, p.negDelta, p.beta],
  );
  return mcl.finalExp(ml).isOne();
}
