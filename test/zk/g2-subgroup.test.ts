// The fast G2 subgroup check must agree with the reference check [r]Q = 0 on subgroup points (multiples of the
// generator, the B points of the committed real proofs), on random twist points (almost all outside G2), on pure
// cofactor-torsion points, on points of each prime order dividing the cofactor, and on G2 + torsion.
// @noble/curves only crafts the points here; the checks themselves run in src/zk/g2-subgroup.ts. The last block recomputes,
// with integers only, the BN254 facts that make the test formula sound (docs/zk.md, "Why the G2 subgroup test is sound").
import { readFileSync } from 'node:fs';
import { bn254 } from '@noble/curves/bn254.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BASE_FIELD_MODULUS } from '../../src/zk/bn254-mcl.ts';
import { diagnoseG2Point, PSI_X, PSI_Y } from '../../src/zk/g2-subgroup.ts';
import { FIELD_MODULUS } from '../../src/zk/statement.ts';

const { Fp2, Fr } = bn254.fields;
const b = bn254.G2.Point.CURVE().b;
type P = InstanceType<typeof bn254.G2.Point>;

function twistPointAt(c0: bigint, c1: bigint): P | undefined {
  const x = Fp2.create({ c0, c1 });
  const rhs = Fp2.add(Fp2.mul(Fp2.sqr(x), x), b);
  let y;
  try {
    y = Fp2.sqrt(rhs);
  } catch {
    return undefined;
  }
  return bn254.G2.Point.fromAffine({ x, y });
}
const judge = (p: P) => {
  const a = p.toAffine();
  return diagnoseG2Point([a.x.c0, a.x.c1], [a.y.c0, a.y.c1]);
};
// [r]Q for any twist point Q lies in the cofactor torsion, outside G2 unless it is the identity.
const torsionOf = (q: P) => q.multiplyUnsafe(Fr.ORDER - 1n).add(q);
const twistPoints = function* (c1: bigint) {
  for (let c0 = 1n; ; c0++) {
    const q = twistPointAt(c0, c1);
    if (q) yield q;
  }
};

// BN254 parameters from the seed x₀ (independent of the constants in src/zk).
const X0 = 4965661367192848881n;
const q = 36n * X0 ** 4n + 36n * X0 ** 3n + 24n * X0 ** 2n + 6n * X0 + 1n;
const r = 36n * X0 ** 4n + 36n * X0 ** 3n + 18n * X0 ** 2n + 6n * X0 + 1n;
const t = q + 1n - r;
// #E'(F_q²) = r·h for the sextic twist that carries G2; h = 2q − r, and its factorisation (checked below).
const h = 2n * q - r;
// h = 10069 · 5864401 · 1875725156269 · (a 177-bit prime), factored with sympy; distinct primes.
const H_PRIMES = [10069n, 5864401n, 1875725156269n, 197620364512881247228717050342013327560683201906968909n];
const gcd = (a: bigint, b: bigint): bigint => {
  [a, b] = [a < 0n ? -a : a, b < 0n ? -b : b];
  while (b) [a, b] = [b, a % b];
  return a;
};

describe('G2 subgroup check', () => {
  it('accepts multiples of the generator', async () => {
    await fc.assert(
      fc.asyncProperty(fc.bigInt({ min: 1n, max: Fr.ORDER - 1n }), async (k) => {
        expect(await judge(bn254.G2.Point.BASE.multiply(k))).toEqual({ onCurve: true, fast: true, reference: true });
      }),
      { numRuns: 20 },
    );
  });

  it('accepts the B points of the committed real proofs', async () => {
    const ev = JSON.parse(readFileSync(new URL('./fixtures/valid-evidence.json', import.meta.url), 'utf8')) as {
      shards: { proof: { pi_b: [[string, string], [string, string]] } }[];
    };
    expect(ev.shards.length).toBeGreaterThan(0);
    for (const { proof } of ev.shards) {
      const [[x0, x1], [y0, y1]] = proof.pi_b;
      expect(await diagnoseG2Point([BigInt(x0), BigInt(x1)], [BigInt(y0), BigInt(y1)])).toEqual({ onCurve: true, fast: true, reference: true });
    }
  });

  it('agrees with [r]Q = 0 on random twist points, torsion points and G2 + torsion', async () => {
    let checked = 0;
    for (let c0 = 1n; checked < 30; c0++) {
      const q = twistPointAt(c0, 7n);
      if (!q) continue;
      checked++;
      const t = torsionOf(q);
      for (const p of [q, t, bn254.G2.Point.BASE.multiply(c0).add(t), t.negate()]) {
        if (p.is0()) continue;
        const r = await judge(p);
        expect(r.onCurve).toBe(true);
        expect(r.fast).toBe(r.reference);
        expect(r.fast).toBe(false);
      }
    }
  });

  it('refuses points of each prime order dividing the cofactor, alone and added to G2 points', async () => {
    const points = twistPoints(5n);
    for (const l of H_PRIMES) {
      let tl: P;
      do tl = torsionOf(points.next().value!).multiplyUnsafe(h / l);
      while (tl.is0());
      expect(tl.multiplyUnsafe(l).is0()).toBe(true); // order exactly l (l is prime)
      for (const p of [tl, tl.double(), bn254.G2.Point.BASE.add(tl), bn254.G2.Point.BASE.multiply(l).subtract(tl)]) {
        expect(await judge(p)).toEqual({ onCurve: true, fast: false, reference: false });
      }
    }
  });

  it('has the BN254 facts the test formula relies on', () => {
    expect(q).toBe(BASE_FIELD_MODULUS);
    expect(r).toBe(FIELD_MODULUS);
    expect(t).toBe(6n * X0 * X0 + 1n);
    // The twist's group order: [r·h]P = 0 on a twist point whose [r]-multiple is not 0.
    const p = twistPoints(11n).next().value!;
    expect(torsionOf(p).is0()).toBe(false);
    expect(torsionOf(p).multiplyUnsafe(h / H_PRIMES[3]!).multiplyUnsafe(H_PRIMES[3]!).is0()).toBe(true);
    // h is the product of distinct primes, none of them r: E'(F_q²) = G2 ⊕ T with T cyclic of order h.
    expect(H_PRIMES.reduce((a, l) => a * l, 1n)).toBe(h);
    expect(h % r).not.toBe(0n);
    // f(X) = (x₀+1) + x₀X + x₀X² − 2x₀X³ and ψ acts on G2 as [q]: f(q) ≡ 0 (mod r), so every point of G2 passes.
    expect((X0 + 1n + X0 * q + X0 * q ** 2n - 2n * X0 * q ** 3n) % r).toBe(0n);
    // ψ² = tψ − q, so f(ψ) = a + bψ with ψ³ = (t² − q)ψ − tq. deg(a + bψ) = a² + abt + b²q; if it is prime to h,
    // f(ψ) has no kernel in T and no point outside G2 passes.
    const a = X0 + 1n - X0 * q + 2n * X0 * t * q;
    const bb = X0 + X0 * t - 2n * X0 * (t * t - q);
    const deg = a * a + a * bb * t + bb * bb * q;
    expect(deg % r).toBe(0n);
    expect(gcd(deg, h)).toBe(1n);
    // [x₀] is a bijection of E'(F_q²): [x₀]Q = 0 only for Q = 0.
    expect(gcd(X0, r * h)).toBe(1n);
    // ψ's constants, written out in the module: ξ^((q−1)/3) and ξ^((q−1)/2) for ξ = 9 + u.
    const xi = bn254.fields.Fp2.fromBigTuple([9n, 1n]);
    const asTuple = (v: { c0: bigint; c1: bigint }) => [v.c0, v.c1];
    expect(PSI_X).toEqual(asTuple(bn254.fields.Fp2.pow(xi, (q - 1n) / 3n)));
    expect(PSI_Y).toEqual(asTuple(bn254.fields.Fp2.pow(xi, (q - 1n) / 2n)));
  });
});
