// The fast G2 subgroup check (ψ(Q) = [6x₀²]Q) must agree with the reference check [r]Q = 0 on subgroup points,
// on random twist points (almost all outside G2), on pure cofactor-torsion points and on G2 + torsion.
// @noble/curves only crafts the points here; the checks themselves run in src/zk/verify.ts.
import { bn254 } from '@noble/curves/bn254.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diagnoseG2Point } from '../../src/zk/verify.ts';

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

describe('G2 subgroup check', () => {
  it('accepts multiples of the generator', async () => {
    await fc.assert(
      fc.asyncProperty(fc.bigInt({ min: 1n, max: Fr.ORDER - 1n }), async (k) => {
        expect(await judge(bn254.G2.Point.BASE.multiply(k))).toEqual({ onCurve: true, fast: true, reference: true });
      }),
      { numRuns: 20 },
    );
  });

  it('agrees with [r]Q = 0 on random twist points, torsion points and G2 + torsion', async () => {
    let checked = 0;
    for (let c0 = 1n; checked < 30; c0++) {
      const q = twistPointAt(c0, 7n);
      if (!q) continue;
      checked++;
      const t = torsionOf(q);
      for (const p of [q, t, bn254.G2.Point.BASE.multiply(c0).add(t)]) {
        if (p.is0()) continue;
        const r = await judge(p);
        expect(r.onCurve).toBe(true);
        expect(r.fast).toBe(r.reference);
        expect(r.fast).toBe(false);
      }
    }
  });
});
