// G2 subgroup membership for BN254 through the untwist-Frobenius-twist endomorphism ψ: a proof's B point outside the
// order-r subgroup G2 would make the pairing check meaningless (small-subgroup attacks), and the twist's cofactor is
// large, so every B is checked; this file makes that check cheap. test/zk/g2-subgroup.test.ts cross-checks it against
// [r]Q = 0 and recomputes the facts that make it sound; bench/g2-subgroup.ts measures it.
//
// The test is the one gnark-crypto runs for BN254 (ecc/bn254/g2.go, G2Jac.IsInSubGroup); ψ acts on G2 as [q]:
//   Q ∈ G2  ⟺  [x₀+1]Q + ψ([x₀]Q) + ψ²([x₀]Q) = ψ³([2x₀]Q).
// Why it holds for BN254 (sources, and each fact the test recomputes): docs/zk.md, "Why the G2 subgroup test is sound".
// Cost: one 63-bit multiplication [x₀]Q (62 doublings) where [r]Q = 0 needs 253; ψ is two F_q² products.
//
// [x₀]Q is computed with mcl's group law (add, dbl), not mcl.mul: mcl multiplies G2 points through a GLV split of
// the scalar over ψ, which equals [k]Q only for Q already in G2 (for other points it is another endomorphism).
// Everything stays in wasm memory (mcl's C layout, mclBnG2 = {x, y, z} of mclBnFp2 = {a, b}): the same steps on
// mcl-wasm's value objects, which copy each operand in and out of wasm memory, were slower than the check this one
// replaced (bench/g2-subgroup.ts).
import { BASE_FIELD_MODULUS, initMcl, mcl, mclRaw, mclWasm, words } from './bn254-mcl.ts';

type F2 = readonly [bigint, bigint];
const fq = (v: bigint) => ((v % BASE_FIELD_MODULUS) + BASE_FIELD_MODULUS) % BASE_FIELD_MODULUS;
const f2mul = (a: F2, b: F2): F2 => [fq(a[0] * b[0] - a[1] * b[1]), fq(a[0] * b[1] + a[1] * b[0])];
const f2conj = (a: F2): F2 => [a[0], fq(-a[1])];
// ψ's constants ξ^((q−1)/3) and ξ^((q−1)/2) in F_q², ξ = 9 + u the BN254 sextic non-residue of the twist
// y² = x³ + 3/ξ. Written out rather than computed at every start (two 254-bit powers: a millisecond of a cold
// re-check); test/zk/g2-subgroup.test.ts computes them again.
export const PSI_X: F2 = [
  21575463638280843010398324269430826099269044274347216827212613867836435027261n,
  10307601595873709700152284273816112264069230130616436755625194854815875713954n,
];
export const PSI_Y: F2 = [
  2821565182194536844548159561693502659359617185244120367078079554186484126554n,
  3505843767911556378687030309984248845540243509899259641013678093033130930403n,
];
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
