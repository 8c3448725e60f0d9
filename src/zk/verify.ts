// The one typed wrapper around Groth16 on BN254 for proofboard (STYLE rule 5): the only module that imports snarkjs
// or a pairing library. Every check on the statement runs before any pairing, and the result is a value with a
// reason code, never a bare boolean.
import { createHash, getRandomValues } from 'node:crypto';
import mcl from 'mcl-wasm';
import mclRaw from 'mcl-wasm/dist/mcl.js';
import { z } from 'zod';
import type { ClaimPayload } from '../attest/claim.ts';
import {
  commitToFields,
  FIELD_MODULUS,
  PUBLIC_SIGNALS,
  statementDigest,
  statementFromSignals,
  submitterToFields,
  taskToField,
  type Statement,
} from './statement.ts';

/** BN254 base field modulus q: proof coordinates are elements of F_q. */
export const BASE_FIELD_MODULUS = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
export const MAX_SHARDS = 64;

// Canonical decimal only: no sign, no leading zeros, at most 78 digits (a value below 2^256). Non-canonical forms
// would give one statement many spellings and so many digests.
const dec = z.string().regex(/^(?:0|[1-9][0-9]{0,77})$/, 'canonical decimal string');
const g1Schema = z.tuple([dec, dec, z.literal('1')]);
const g2Schema = z.tuple([z.tuple([dec, dec]), z.tuple([dec, dec]), z.tuple([z.literal('1'), z.literal('0')])]);
export const groth16ProofSchema = z
  .object({
    pi_a: g1Schema,
    pi_b: g2Schema,
    pi_c: g1Schema,
    protocol: z.literal('groth16'),
    curve: z.literal('bn128'),
  })
  .strict();
export type Groth16Proof = z.infer<typeof groth16ProofSchema>;

/** Evidence of kind `zk` as sent by a client: one proof per eval shard. */
export const zkEvidenceSchema = z
  .object({
    type: z.literal('zk'),
    circuit: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,63}$/),
    shards: z
      .array(z.object({ proof: groth16ProofSchema, publicSignals: z.array(dec).max(64) }).strict())
      .min(1)
      .max(MAX_SHARDS),
  })
  .strict();
export type ZkEvidence = z.infer<typeof zkEvidenceSchema>;

/** A circuit the operator registered: its verification key as exact bytes, pinned by SHA-256. */
export type RegisteredCircuit = {
  id: string;
  protocol: 'groth16';
  curve: 'bn128';
  /** The verification key JSON exactly as registered (snarkjs `zkey export verificationkey`). */
  vkeyJson: string;
  /** Hex SHA-256 of vkeyJson, pinned at registration. */
  vkeySha256: string;
  /** Public signals the statement layout expects (src/zk/statement.ts). */
  nPublic: number;
};

/** What the task record says about the evaluation: the trusted side of every binding. */
export type ZkContext = {
  circuit: RegisteredCircuit;
  metricName: string;
  /** Poseidon fold of the shard commitments (src/zk/reference-evaluator.ts evalSetLayout). */
  evalSetCommitment: bigint;
  /** Shard commitments in eval-set order; each must be proven exactly once. */
  shardCommitments: readonly bigint[];
  /** If the weights are known (published with the claim), their Poseidon commitment. */
  expectedWeightsCommitment?: bigint;
};

export type ZkReason =
  | 'zk_malformed'
  | 'zk_circuit_mismatch'
  | 'zk_vkey_mismatch'
  | 'zk_signal_count'
  | 'zk_signal_range'
  | 'zk_binding_task'
  | 'zk_binding_commit'
  | 'zk_binding_submitter'
  | 'zk_binding_metric'
  | 'zk_binding_weights'
  | 'zk_shard_coverage'
  | 'zk_bad_point'
  | 'zk_pairing_failed';

export type ZkCheck =
  | { ok: true; metric: { name: string; value: number }; weightsCommitment: string; statementDigests: string[] }
  | { ok: false; reason: ZkReason; message: string };

const deny = (reason: ZkReason, message: string): ZkCheck => ({ ok: false, reason, message });

export function sha256Hex(s: string | Uint8Array): string {
  return createHash('sha256').update(s).digest('hex');
}

/** Builds a RegisteredCircuit from vkey bytes and the pin the operator registered; throws if they differ. */
export function registerCircuit(id: string, vkeyJson: string, vkeySha256: string): RegisteredCircuit {
  if (sha256Hex(vkeyJson) !== vkeySha256) throw new Error(`circuit ${id}: verification key does not match its pin`);
  const nPublic = parseVkey(vkeyJson).IC.length - 1;
  return { id, protocol: 'groth16', curve: 'bn128', vkeyJson, vkeySha256, nPublic };
}

const vkeySchema = z.object({
  protocol: z.literal('groth16'),
  curve: z.literal('bn128'),
  nPublic: z.number().int().min(1).max(64),
  vk_alpha_1: z.array(dec).length(3),
  vk_beta_2: z.array(z.array(dec).length(2)).length(3),
  vk_gamma_2: z.array(z.array(dec).length(2)).length(3),
  vk_delta_2: z.array(z.array(dec).length(2)).length(3),
  IC: z.array(z.array(dec).length(3)).min(2).max(65),
});
type Vkey = z.infer<typeof vkeySchema>;

function parseVkey(json: string): Vkey {
  const v = vkeySchema.parse(JSON.parse(json));
  if (v.IC.length !== v.nPublic + 1) throw new Error('verification key: IC length differs from nPublic + 1');
  return v;
}

// ---- pairing backend: mcl-wasm, BN_SNARK1 is the BN254 curve of snarkjs/circom (alt_bn128) ----

let mclReady: Promise<void> | undefined;
function initMcl(): Promise<void> {
  mclReady ??= mcl.init(mcl.BN_SNARK1).then(() => {
    // setStr then checks only that a point is on the curve; g1From/g2From check the subgroup explicitly, so that a
    // refusal says which of the two failed.
    mcl.verifyOrderG1(false);
    mcl.verifyOrderG2(false);
  });
  return mclReady;
}

type Prepared = {
  alphaBeta: mcl.GT;
  negGamma: mcl.G2;
  negDelta: mcl.G2;
  ic: mcl.G1[];
};
const prepared = new Map<string, Prepared>();

function g1From(p: readonly string[], what: string): mcl.G1 {
  const [x, y] = [BigInt(p[0]!), BigInt(p[1]!)];
  if (x >= BASE_FIELD_MODULUS || y >= BASE_FIELD_MODULUS) throw new BadPoint(`${what}: coordinate not below q`);
  const g = new mcl.G1();
  try {
    g.setStr(`1 ${x} ${y}`, 10);
  } catch {
    throw new BadPoint(`${what}: not on the curve`);
  }
  // Threat: off-curve points break the pairing equation's soundness. G1 of BN254 has cofactor 1, so a point on
  // the curve is in the prime-order group and no separate subgroup check is needed.
  if (!g.isValid() || g.isZero()) throw new BadPoint(`${what}: not a valid G1 point`);
  return g;
}

// ---- G2 subgroup membership through the untwist-Frobenius-twist endomorphism ψ ----
// ψ(x, y) = (conj(x)·ξ^((q-1)/3), conj(y)·ξ^((q-1)/2)) maps the twist E'(F_q²) to itself and acts on G2 as [q].
// The test is the one gnark-crypto runs for BN254 (ecc/bn254/g2.go, G2Jac.IsInSubGroup; its comment cites Dai, Lin,
// Zhao, Zhou, eprint 2022/348, §3 and §5.1; El Housni, Guillevic, Piellard, eprint 2022/352, study such ψ-tests):
//   Q ∈ G2  ⟺  [x₀+1]Q + ψ([x₀]Q) + ψ²([x₀]Q) = ψ³([2x₀]Q),  i.e. f(ψ)Q = 0 for f(X) = (x₀+1) + x₀X + x₀X² − 2x₀X³.
// Why it holds for BN254, checked here rather than taken from the papers (test/zk/g2-subgroup.test.ts recomputes
// each fact):
//  - #E'(F_q²) = r·h with h = 2q − r = 10069 · 5864401 · 1875725156269 · (a 177-bit prime), and r ∤ h, so
//    E'(F_q²) = G2 ⊕ T with #T = h.
//  - f(q) ≡ 0 (mod r), so f(ψ) is zero on G2: every point of G2 passes.
//  - ψ² − tψ + q = 0 (t = 6x₀² + 1), so f(ψ) = a + bψ for integers a, b: an endomorphism of degree
//    a² + abt + b²q, which is prime to h. Its kernel meets T only in 0, so no point outside G2 passes.
//  - gcd(x₀, r·h) = 1: [x₀]Q ≠ 0 for every Q ≠ 0, so no degenerate case (the point at infinity is refused by g2From).
// Cost: one 63-bit multiplication [x₀]Q (62 doublings) where [r]Q = 0 needs 253; ψ is two F_q² products.
//
// [x₀]Q is computed with mcl's group law (add, dbl), not mcl.mul: mcl multiplies G2 points through a GLV split of
// the scalar over ψ, which equals [k]Q only for Q already in G2 (for other points it is another endomorphism).
// Everything stays in wasm memory (mcl's C layout, mclBnG2 = {x, y, z} of mclBnFp2 = {a, b}): the same steps on
// mcl-wasm's value objects, which copy each operand in and out of wasm memory, were slower than the check this one
// replaced (bench/g2-subgroup.ts).
type F2 = readonly [bigint, bigint];
const fq = (v: bigint) => ((v % BASE_FIELD_MODULUS) + BASE_FIELD_MODULUS) % BASE_FIELD_MODULUS;
const f2mul = (a: F2, b: F2): F2 => [fq(a[0] * b[0] - a[1] * b[1]), fq(a[0] * b[1] + a[1] * b[0])];
const f2conj = (a: F2): F2 => [a[0], fq(-a[1])];
function f2pow(a: F2, e: bigint): F2 {
  let r: F2 = [1n, 0n];
  let b = a;
  for (; e > 0n; e >>= 1n) {
    if (e & 1n) r = f2mul(r, b);
    b = f2mul(b, b);
  }
  return r;
}
const XI: F2 = [9n, 1n]; // the BN254 sextic non-residue ξ = 9 + u of the twist y² = x³ + 3/ξ
const PSI_X = f2pow(XI, (BASE_FIELD_MODULUS - 1n) / 3n);
const PSI_Y = f2pow(XI, (BASE_FIELD_MODULUS - 1n) / 2n);
// ψ²(x, y) = (x·PSI_X·conj(PSI_X), y·PSI_Y·conj(PSI_Y)): no conjugation left, so it also keeps Z.
const PSI2_X = f2mul(PSI_X, f2conj(PSI_X));
const PSI2_Y = f2mul(PSI_Y, f2conj(PSI_Y));
const BN_X0 = 4965661367192848881n;

/** Width-3 NAF digits of x₀, most significant first, each 0, ±1 or ±3: 62 doublings and 17 additions. */
const X0_NAF: readonly number[] = (() => {
  const d: number[] = [];
  for (let k = BN_X0; k > 0n; k >>= 1n) {
    let z = 0n;
    if (k & 1n) {
      z = k & 7n;
      if (z > 4n) z -= 8n;
      k -= z;
    }
    d.push(Number(z));
  }
  return d.reverse();
})();

/** The mcl-wasm functions the check calls on wasm memory (mcl's C API, bn.h), with output first. */
type MclWasm = {
  /** A view of wasm memory, made anew after the memory grows (mcl.js's own HEAP32 export is the view at init). */
  readonly HEAP32: Int32Array;
  _mclBnG2_dbl(y: number, x: number): void;
  _mclBnG2_add(z: number, x: number, y: number): void;
  _mclBnG2_sub(z: number, x: number, y: number): void;
  _mclBnG2_neg(y: number, x: number): void;
  _mclBnG2_normalizeVec(y: number, x: number, n: number): void;
  _mclBnG2_isEqual(x: number, y: number): number;
  _mclBnFp_neg(y: number, x: number): void;
  _mclBnFp2_mul(z: number, x: number, y: number): void;
  _mclBn_millerLoopVec(z: number, p: number, q: number, n: number): void;
};
const mclWasm = () => (mclRaw as unknown as { mod: MclWasm }).mod;
type MclValue = { a_: Uint32Array };
const words = (v: unknown) => (v as MclValue).a_;

type PsiConstants = { fp: number; fp2: number; g2: number; x: Uint32Array; y: Uint32Array; x2: Uint32Array; y2: Uint32Array };
let psiConstants: PsiConstants | undefined;
/** ψ's constants in mcl's internal form and the byte sizes of mcl's values; needs mcl initialised. */
function getPsiConstants(): PsiConstants {
  if (psiConstants) return psiConstants;
  const fp2 = (v: F2) => {
    const e = new mcl.Fp2();
    e.setStr(`${v[0]} ${v[1]}`, 10);
    return words(e);
  };
  const fp = words(new mcl.Fp()).length * 4;
  if (words(new mcl.Fp2()).length * 4 !== 2 * fp || words(new mcl.G2()).length * 4 !== 6 * fp) {
    throw new Error('mcl-wasm: unexpected G2 memory layout');
  }
  psiConstants = { fp, fp2: 2 * fp, g2: 6 * fp, x: fp2(PSI_X), y: fp2(PSI_Y), x2: fp2(PSI2_X), y2: fp2(PSI2_Y) };
  return psiConstants;
}

/**
 * True iff an on-curve twist point is in the order-r subgroup G2: checks (x₀+1) + x₀ψ + x₀ψ² − 2x₀ψ³ = 0 on Q, as
 * Q + A + ψ(A) = ψ²(2ψ(A) − A) with A = [x₀]Q.
 */
export function isInG2Subgroup(g: mcl.G2): boolean {
  const m = mclWasm();
  const c = getPsiConstants();
  const copy = (to: number, from: number) => m.HEAP32.copyWithin(to >> 2, from >> 2, (from + c.g2) >> 2);
  const stack = mclRaw.stackSave();
  try {
    const [psiX, psiY, psi2X, psi2Y] = [c.x, c.y, c.x2, c.y2].map((v) => mclRaw.sallocCopy(v)) as [number, number, number, number];
    const sum = mclRaw.sallocCopy(words(g));
    // Table Q, 3Q, −Q, −3Q, in affine form so that the chain's additions are the cheaper mixed ones.
    const table = mclRaw.stackAlloc(4 * c.g2);
    const entry = (digit: number) => table + (digit > 0 ? (digit - 1) >> 1 : 2 + ((-digit - 1) >> 1)) * c.g2;
    copy(table, sum);
    m._mclBnG2_dbl(table + c.g2, sum);
    m._mclBnG2_add(table + c.g2, table + c.g2, sum);
    m._mclBnG2_normalizeVec(table, table, 2);
    m._mclBnG2_neg(table + 2 * c.g2, table);
    m._mclBnG2_neg(table + 3 * c.g2, table + c.g2);
    const a = mclRaw.stackAlloc(c.g2);
    copy(a, entry(X0_NAF[0]!));
    for (let i = 1; i < X0_NAF.length; i++) {
      m._mclBnG2_dbl(a, a);
      if (X0_NAF[i]) m._mclBnG2_add(a, a, entry(X0_NAF[i]!));
    }
    // b = ψ(a) on Jacobian coordinates: (conj(X)·PSI_X, conj(Y)·PSI_Y, conj(Z)) is ψ of (X/Z², Y/Z³).
    const b = mclRaw.stackAlloc(c.g2);
    copy(b, a);
    for (let k = 0; k < 3; k++) m._mclBnFp_neg(b + k * c.fp2 + c.fp, b + k * c.fp2 + c.fp);
    m._mclBnFp2_mul(b, b, psiX);
    m._mclBnFp2_mul(b + c.fp2, b + c.fp2, psiY);
    m._mclBnG2_add(sum, sum, a);
    m._mclBnG2_add(sum, sum, b);
    m._mclBnG2_dbl(b, b);
    m._mclBnG2_sub(b, b, a);
    m._mclBnFp2_mul(b, b, psi2X);
    m._mclBnFp2_mul(b + c.fp2, b + c.fp2, psi2Y);
    // A comparison, not a sum tested for zero: mcl's addition sees equal x as P = ±Q, so a wrong y in the last
    // addend would go unnoticed.
    return m._mclBnG2_isEqual(sum, b) === 1;
  } finally {
    mclRaw.stackRestore(stack);
  }
}

/**
 * For tests: an affine twist point judged by the fast ψ check and by mcl's reference [r]Q = 0 check.
 * onCurve false means neither ran.
 */
export async function diagnoseG2Point(x: F2, y: F2): Promise<{ onCurve: boolean; fast: boolean; reference: boolean }> {
  await initMcl();
  const g = new mcl.G2();
  try {
    g.setStr(`1 ${x[0]} ${x[1]} ${y[0]} ${y[1]}`, 10);
  } catch {
    return { onCurve: false, fast: false, reference: false };
  }
  return { onCurve: g.isValid(), fast: isInG2Subgroup(g), reference: g.isValidOrder() };
}

function g2From(p: readonly (readonly string[])[], what: string): mcl.G2 {
  const c = [p[0]![0]!, p[0]![1]!, p[1]![0]!, p[1]![1]!].map((s) => BigInt(s));
  if (c.some((v) => v >= BASE_FIELD_MODULUS)) throw new BadPoint(`${what}: coordinate not below q`);
  const g = new mcl.G2();
  try {
    g.setStr(`1 ${c.join(' ')}`, 10);
  } catch {
    throw new BadPoint(`${what}: not on the twist curve`);
  }
  if (!g.isValid() || g.isZero()) throw new BadPoint(`${what}: not on the twist curve`);
  // Threat: G2 of BN254 has a large cofactor; a point outside the order-r subgroup makes the pairing check
  // meaningless (small-subgroup attacks), so the subgroup is checked explicitly.
  if (!isInG2Subgroup(g)) throw new BadPoint(`${what}: not in the G2 subgroup`);
  return g;
}

class BadPoint extends Error {}

async function prepare(circuit: RegisteredCircuit): Promise<Prepared> {
  const hit = prepared.get(circuit.vkeySha256);
  if (hit) return hit;
  await initMcl();
  const v = parseVkey(circuit.vkeyJson);
  const p: Prepared = {
    alphaBeta: mcl.pairing(g1From(v.vk_alpha_1, 'vk.alpha'), g2From(v.vk_beta_2, 'vk.beta')),
    negGamma: mcl.neg(g2From(v.vk_gamma_2, 'vk.gamma')),
    negDelta: mcl.neg(g2From(v.vk_delta_2, 'vk.delta')),
    ic: v.IC.map((pt, i) => g1From(pt, `vk.IC[${i}]`)),
  };
  prepared.set(circuit.vkeySha256, p);
  return p;
}

/**
 * Loads the pairing library and prepares a circuit's key (e(α,β), -γ, -δ, IC points) so that the first request
 * does not pay for it; a server calls this at start for every registered circuit.
 */
export async function warmUpZk(circuit: RegisteredCircuit): Promise<void> {
  await prepare(circuit);
}

function frFrom(v: bigint): mcl.Fr {
  const f = new mcl.Fr();
  f.setStr(v.toString(10), 10);
  return f;
}

/** A uniformly random 128-bit nonzero scalar from the OS CSPRNG (batch verification weights). */
function randomScalar(): bigint {
  for (;;) {
    const b = getRandomValues(new Uint8Array(16));
    const v = b.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
    if (v !== 0n) return v;
  }
}

const MILLER_CHUNK = 32;

/**
 * Π e'(P_i, Q_i) without final exponentiation through mcl's multi-Miller loop (mclBn_millerLoopVec), which shares
 * the Fp12 squarings across pairs. mcl-wasm does not wrap it, so the arrays are copied onto the wasm stack the way
 * its own mulVec does; chunks keep the stack use small.
 */
function millerLoopVec(ps: mcl.G1[], qs: mcl.G2[]): mcl.GT {
  let acc: mcl.GT | undefined;
  for (let off = 0; off < ps.length; off += MILLER_CHUNK) {
    const p = ps.slice(off, off + MILLER_CHUNK);
    const q = qs.slice(off, off + MILLER_CHUNK);
    const z = new mcl.GT();
    const stack = mclRaw.stackSave();
    try {
      const zPos = mclRaw.salloc(words(z));
      const pPos = mclRaw.sallocArray(p.map(words));
      const qPos = mclRaw.sallocArray(q.map(words));
      mclWasm()._mclBn_millerLoopVec(zPos, pPos, qPos, p.length);
      mclRaw.copyFromHeap32(words(z), zPos);
    } finally {
      mclRaw.stackRestore(stack);
    }
    acc = acc ? mcl.mul(acc, z) : z;
  }
  return acc!;
}

export type Groth16Item = { proof: Groth16Proof; publicSignals: readonly bigint[] };
type ParsedItem = { a: mcl.G1; b: mcl.G2; c: mcl.G1; signals: readonly bigint[] };

export type BatchResult = { ok: true } | { ok: false; reason: 'zk_bad_point' | 'zk_pairing_failed'; index: number; message: string };

function parseItem(it: Groth16Item, i: number): ParsedItem {
  return {
    a: g1From(it.proof.pi_a, `shards[${i}].pi_a`),
    b: g2From(it.proof.pi_b, `shards[${i}].pi_b`),
    c: g1From(it.proof.pi_c, `shards[${i}].pi_c`),
    signals: it.publicSignals,
  };
}

/** e(A,B) · e(vk_x,-γ) · e(C,-δ) == e(α,β), with vk_x = IC0 + Σ s_j IC_j. */
function checkOne(p: Prepared, it: ParsedItem): boolean {
  const vkx = mcl.add(p.ic[0]!, mcl.mulVec(p.ic.slice(1), it.signals.map(frFrom)));
  return mcl.finalExp(millerLoopVec([it.a, vkx, it.c], [it.b, p.negGamma, p.negDelta])).isEqual(p.alphaBeta);
}

/**
 * Checks n proofs of one circuit with one final exponentiation: with fresh random r_i,
 * Π e(r_i·A_i, B_i) · e(Σ r_i·vk_x_i, -γ) · e(Σ r_i·C_i, -δ) == e(α,β)^(Σ r_i).
 * A cheating prover who does not know the r_i passes with probability about 2^-128 (the r_i come from the OS
 * CSPRNG after every proof is fixed, so proofs from different claims cannot be made to cancel each other).
 */
function checkCombined(p: Prepared, parsed: readonly ParsedItem[]): boolean {
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
  const ml = millerLoopVec([...parsed.map((it, i) => mcl.mul(it.a, rFr[i]!)), vkx, cSum], [...parsed.map((it) => it.b), p.negGamma, p.negDelta]);
  return mcl.finalExp(ml).isEqual(mcl.pow(p.alphaBeta, rSumFr));
}

function assertSignals(nPub: number, items: readonly Groth16Item[]): void {
  for (const it of items) {
    if (it.publicSignals.length !== nPub) throw new RangeError('verifyGroth16: public signal count differs from the key');
    if (it.publicSignals.some((s) => s < 0n || s >= FIELD_MODULUS)) throw new RangeError('verifyGroth16: public signal out of range');
  }
}

function parseGroup(items: readonly Groth16Item[]): ParsedItem[] | BatchResult {
  try {
    return items.map(parseItem);
  } catch (e) {
    if (e instanceof BadPoint) {
      const index = Number(/shards\[(\d+)\]/.exec(e.message)?.[1] ?? 0);
      return { ok: false, reason: 'zk_bad_point', index, message: e.message };
    }
    throw e;
  }
}

/** One group whose combined check failed: names its first bad proof. */
function findBadProof(p: Prepared, parsed: readonly ParsedItem[]): BatchResult {
  for (let i = 0; i < parsed.length; i++) {
    if (!checkOne(p, parsed[i]!)) return { ok: false, reason: 'zk_pairing_failed', index: i, message: `shards[${i}]: pairing check failed` };
  }
  // The batch failed but every proof passes alone: only possible with a probability-2^-128 event or a bug.
  return { ok: false, reason: 'zk_pairing_failed', index: -1, message: 'batch pairing check failed' };
}

/**
 * Checks several independent groups of proofs of one circuit (the shards of several claims) with one combined
 * pairing check, and returns one result per group. A group with a malformed point is refused alone before the
 * pairing. If the combined check fails, each group is checked on its own (one final exponentiation each) and only a
 * failing group is checked proof by proof, so one bad claim never rejects another; the cost of a bad claim is at
 * most one extra check per group of its batch. Signals must already be count- and range-checked (RangeError if not:
 * a caller bug, not a verdict).
 */
export async function verifyGroth16Groups(circuit: RegisteredCircuit, groups: readonly (readonly Groth16Item[])[]): Promise<BatchResult[]> {
  const p = await prepare(circuit);
  for (const g of groups) assertSignals(p.ic.length - 1, g);
  const parsed = groups.map(parseGroup);
  const results: (BatchResult | undefined)[] = parsed.map((g) => (Array.isArray(g) ? undefined : g));
  const live = parsed.flatMap((g, k) => (Array.isArray(g) && g.length > 0 ? [{ k, g }] : []));
  for (const [k, g] of parsed.entries()) if (Array.isArray(g) && g.length === 0) results[k] = { ok: true };
  if (live.length > 0 && checkCombined(p, live.flatMap((x) => x.g))) {
    for (const { k } of live) results[k] = { ok: true };
  } else if (live.length === 1) {
    results[live[0]!.k] = findBadProof(p, live[0]!.g);
  } else {
    for (const { k, g } of live) results[k] = checkCombined(p, g) ? { ok: true } : findBadProof(p, g);
  }
  return results as BatchResult[];
}

/**
 * Checks the proofs of one claim (its shards) with one final exponentiation; on failure names the first bad one.
 */
export async function verifyGroth16Batch(circuit: RegisteredCircuit, items: readonly Groth16Item[]): Promise<BatchResult> {
  return (await verifyGroth16Groups(circuit, [items]))[0]!;
}

/** How the pairing check of one claim's proofs is run: alone, or pooled with other claims' (src/zk/batch-verifier.ts). */
export type Groth16Checker = (circuit: RegisteredCircuit, items: readonly Groth16Item[]) => Promise<BatchResult>;

type Parsed = { evidence: ZkEvidence; statements: Statement[]; signals: bigint[][] };

/**
 * All checks that need no pairing, in order: shape and size, circuit id, key pin, signal count and range, then
 * every public signal against the claim and the task.
 */
function checkStatement(untrusted: unknown, claim: ClaimPayload, ctx: ZkContext): Parsed | ZkCheck {
  const shape = zkEvidenceSchema.safeParse(untrusted);
  if (!shape.success) {
    const i = shape.error.issues[0];
    return deny('zk_malformed', i ? `${i.path.join('.') || 'evidence'}: ${i.message}` : 'invalid zk evidence');
  }
  const ev = shape.data;
  if (ev.circuit !== ctx.circuit.id) return deny('zk_circuit_mismatch', `evidence is for circuit ${ev.circuit}, task uses ${ctx.circuit.id}`);
  // Threat: a verification key swapped in storage or in memory would accept proofs of anything.
  if (sha256Hex(ctx.circuit.vkeyJson) !== ctx.circuit.vkeySha256) return deny('zk_vkey_mismatch', 'verification key does not match its pinned SHA-256');
  if (ctx.circuit.nPublic !== PUBLIC_SIGNALS.length) return deny('zk_vkey_mismatch', 'verification key has a different public-signal layout');

  const signals: bigint[][] = [];
  for (const [i, sh] of ev.shards.entries()) {
    // Threat: snarkjs once skipped these checks; extra or missing signals shift every binding below.
    if (sh.publicSignals.length !== ctx.circuit.nPublic) {
      return deny('zk_signal_count', `shards[${i}]: ${sh.publicSignals.length} public signals, the key expects ${ctx.circuit.nPublic}`);
    }
    const vals = sh.publicSignals.map((s) => BigInt(s));
    // Threat: s and s + r are the same field element, so an unreduced signal would verify yet compare unequal
    // to the claim here (or equal a different statement's digest).
    const bad = vals.findIndex((v) => v >= FIELD_MODULUS);
    if (bad >= 0) return deny('zk_signal_range', `shards[${i}].publicSignals[${bad}] is not below the field modulus`);
    signals.push(vals);
  }
  const statements = signals.map(statementFromSignals);

  if (claim.metric.name !== ctx.metricName) return deny('zk_binding_metric', `claim metric ${claim.metric.name}, task metric ${ctx.metricName}`);
  const task = taskToField(claim.task);
  const commit = commitToFields(claim.commit);
  const who = submitterToFields(claim.submitter);
  for (const [i, st] of statements.entries()) {
    if (st.task !== task) return deny('zk_binding_task', `shards[${i}] is for another task`);
    if (st.commitHi !== commit.commitHi || st.commitLo !== commit.commitLo || st.commitLen !== commit.commitLen) {
      return deny('zk_binding_commit', `shards[${i}] is for another commit`);
    }
    if (st.submitterHi !== who.submitterHi || st.submitterLo !== who.submitterLo) {
      return deny('zk_binding_submitter', `shards[${i}] is for another submitter`);
    }
  }
  // One model for the whole set: mixing models across shards would add up the best shard of each.
  const w = statements[0]!.weightsCommitment;
  if (statements.some((s) => s.weightsCommitment !== w)) return deny('zk_binding_weights', 'shards prove different models');
  if (ctx.expectedWeightsCommitment !== undefined && w !== ctx.expectedWeightsCommitment) {
    return deny('zk_binding_weights', 'proofs are for other weights than the published ones');
  }

  // Coverage: every shard of the task exactly once, linked 0 -> ... -> evalSetCommitment.
  const index = new Map(ctx.shardCommitments.map((c, k) => [c, k]));
  const order: number[] = new Array(ctx.shardCommitments.length).fill(-1);
  for (const [i, st] of statements.entries()) {
    const k = index.get(st.shardCommitment);
    if (k === undefined) return deny('zk_shard_coverage', `shards[${i}] proves a shard that is not in the task's eval set`);
    if (order[k] !== -1) return deny('zk_shard_coverage', `eval shard ${k} is proven twice`);
    order[k] = i;
  }
  const missing = order.indexOf(-1);
  if (missing >= 0) return deny('zk_shard_coverage', `eval shard ${missing} is not proven`);
  let chain = 0n;
  for (const [k, i] of order.entries()) {
    const st = statements[i]!;
    if (st.chainIn !== chain) return deny('zk_shard_coverage', `eval shard ${k} does not chain from the previous shard`);
    chain = st.chainOut;
  }
  if (chain !== ctx.evalSetCommitment) return deny('zk_shard_coverage', 'shard chain does not end at the task eval-set commitment');

  const total = statements.reduce((s, st) => s + st.correct, 0n);
  if (total > BigInt(Number.MAX_SAFE_INTEGER) || Number(total) !== claim.metric.value) {
    return deny('zk_binding_metric', `proofs show ${ctx.metricName} = ${total}, the claim says ${claim.metric.value}`);
  }
  return { evidence: ev, statements, signals };
}

/**
 * Verifies zk evidence for a claim: statement checks first, then one batched pairing check over all shards (by
 * default this claim's alone; a server passes a cross-claim batcher's check).
 * Returns statementDigests (one per shard) for the store's uniqueness constraint: a re-randomised proof of the
 * same statement has the same digest and must not count again.
 */
export async function verifyZkEvidence(
  untrusted: unknown,
  claim: ClaimPayload,
  ctx: ZkContext,
  checkProofs: Groth16Checker = verifyGroth16Batch,
): Promise<ZkCheck> {
  const st = checkStatement(untrusted, claim, ctx);
  if ('ok' in st) return st;
  const r = await checkProofs(
    ctx.circuit,
    st.evidence.shards.map((s, i) => ({ proof: s.proof, publicSignals: st.signals[i]! })),
  );
  if (!r.ok) return deny(r.reason, r.message);
  return {
    ok: true,
    metric: { name: ctx.metricName, value: claim.metric.value },
    weightsCommitment: st.statements[0]!.weightsCommitment.toString(10),
    statementDigests: st.signals.map((s) => statementDigest(ctx.circuit.id, s)),
  };
}

// ---- snarkjs: the reference verifier (benchmark baseline) and the prover, loaded only when asked for ----

type Snarkjs = typeof import('snarkjs');
let snarkjsP: Promise<Snarkjs> | undefined;
const snarkjs = () => (snarkjsP ??= import('snarkjs'));

/** Plain snarkjs.groth16.verify, for comparison only: it does none of the checks above. */
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
