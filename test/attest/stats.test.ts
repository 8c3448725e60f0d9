// Reference values were computed independently, outside this code base, on 2026-11-27 with
//   Python 3, scipy 1.17.1 (scipy.special.betainc, scipy.stats.t.cdf, scipy.stats.ttest_ind), numpy 2.4.6,
// and cross-checked with mpmath 1.3.0 at 40 significant digits (mpmath.betainc(a, b, 0, x, regularized=True), and
// the t CDF through I_{df/(df+t^2)}(df/2, 1/2) / 2). Where scipy and mpmath differ in the last digits, the mpmath
// value is written here.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  logGamma,
  regularizedIncompleteBeta,
  studentTCdf,
  tTestOneSided,
} from '../../src/attest/stats.ts';

function expectRelativelyClose(actual: number, expected: number, rel: number) {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.abs(expected));
}

describe('logGamma', () => {
  it('matches factorials and Γ(1/2) = √π', () => {
    expect(Math.abs(logGamma(1))).toBeLessThan(1e-14);
    expectRelativelyClose(logGamma(10), Math.log(362880), 1e-14);
    expectRelativelyClose(logGamma(0.5), 0.5 * Math.log(Math.PI), 1e-14);
    expectRelativelyClose(logGamma(0.1), 2.252712651734206, 1e-13); // ln Γ(0.1), mpmath.loggamma(0.1)
  });
});

describe('regularizedIncompleteBeta (scipy.special.betainc / mpmath.betainc)', () => {
  const cases: [x: number, a: number, b: number, expected: number][] = [
    [0.5, 2, 3, 0.6875], // exact: 11/16
    [0.1, 0.5, 0.5, 0.20483276469913345754],
    [0.9, 10, 0.5, 0.15164090963470996856],
    [0.999, 50, 0.5, 0.75236901996537668139],
    [1e-5, 1.5, 2.5, 1.0736801950375885699e-7],
    [0.3, 200, 150, 3.7933686992518897189e-26],
  ];
  it.each(cases)('I_%s(%s, %s)', (x, a, b, expected) => {
    expectRelativelyClose(regularizedIncompleteBeta(x, a, b), expected, 1e-11);
  });

  it('is 0 at x = 0 and 1 at x = 1, and rejects out-of-range input', () => {
    expect(regularizedIncompleteBeta(0, 2, 3)).toBe(0);
    expect(regularizedIncompleteBeta(1, 2, 3)).toBe(1);
    expect(() => regularizedIncompleteBeta(1.5, 2, 3)).toThrow(RangeError);
    expect(() => regularizedIncompleteBeta(0.5, 0, 3)).toThrow(RangeError);
  });

  it('property: symmetry I_x(a, b) = 1 - I_{1-x}(b, a) and monotone in x', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.001, max: 0.999, noNaN: true }),
        fc.double({ min: 0.1, max: 100, noNaN: true }),
        fc.double({ min: 0.1, max: 100, noNaN: true }),
        (x, a, b) => {
          const left = regularizedIncompleteBeta(x, a, b);
          const right = 1 - regularizedIncompleteBeta(1 - x, b, a);
          expect(Math.abs(left - right)).toBeLessThan(1e-10);
          expect(regularizedIncompleteBeta(Math.min(0.999, x + 0.001), a, b)).toBeGreaterThanOrEqual(left - 1e-12);
        },
      ),
    );
  });
});

describe('studentTCdf (scipy.stats.t.cdf / mpmath)', () => {
  const cases: [t: number, df: number, expected: number][] = [
    [-2.0, 3, 0.069662984279421588424],
    [1.5, 10.5, 0.91846562104077768967],
    [-0.3, 1, 0.40722642092225765968],
    [-6.0, 30, 6.971384383602371351e-7],
    [2.2, 1e4, 0.98608515683663245966],
    [-1.0, 2.7, 0.19916217361038626621],
  ];
  it.each(cases)('P(T <= %s | df = %s)', (t, df, expected) => {
    expectRelativelyClose(studentTCdf(t, df), expected, 1e-11);
  });

  it('df = 1 is the Cauchy distribution: P(T <= t) = 1/2 + atan(t)/π', () => {
    for (const t of [-10, -1, 0, 0.5, 3]) expect(studentTCdf(t, 1)).toBeCloseTo(0.5 + Math.atan(t) / Math.PI, 13);
  });

  it('property: symmetric around 0', () => {
    fc.assert(
      fc.property(fc.double({ min: -50, max: 50, noNaN: true }), fc.double({ min: 0.5, max: 1000, noNaN: true }), (t, df) => {
        expect(Math.abs(studentTCdf(t, df) + studentTCdf(-t, df) - 1)).toBeLessThan(1e-12);
      }),
    );
  });
});

describe('tTestOneSided (scipy.stats.ttest_ind(a, b, equal_var, alternative))', () => {
  const lossChild = [3.2781, 3.2795, 3.277, 3.2788, 3.2779];
  const lossParent = [3.281, 3.2822, 3.2799, 3.2831, 3.2807];
  const accChild = [0.912, 0.915, 0.909, 0.918];
  const accParent = [0.905, 0.911, 0.902, 0.908, 0.91, 0.904];
  const cases: [string, number[], number[], 'less' | 'greater', 'welch-t' | 'student-t', number, number, number][] = [
    ['val loss, lower is better', lossChild, lossParent, 'less', 'welch-t', -4.412346314603378, 7.396672917348307, 0.0013605439406113961],
    ['val loss, lower is better', lossChild, lossParent, 'less', 'student-t', -4.412346314603378, 8, 0.0011246742620069383],
    ['accuracy, higher is better', accChild, accParent, 'greater', 'welch-t', 2.822556402368216, 6.157644325191558, 0.01470823915368185],
    ['accuracy, higher is better', accChild, accParent, 'greater', 'student-t', 2.876750303327064, 8, 0.010307063445757209],
    ['not significant', [3.28, 3.284, 3.279, 3.286], [3.282, 3.285, 3.281, 3.283], 'less', 'welch-t', -0.26886642896901886, 4.496247144566488, 0.39996333787695093],
    ['unequal variances', [1.0, 1.2, 0.8, 1.1, 0.9, 1.05, 0.95], [1.3, 2.1, 0.9, 1.8], 'less', 'welch-t', -1.9414506867883026, 3.214134773420991, 0.07067775313817563],
    ['unequal variances', [1.0, 1.2, 0.8, 1.1, 0.9, 1.05, 0.95], [1.3, 2.1, 0.9, 1.8], 'less', 'student-t', -2.5747243425712716, 9, 0.014977369808736455],
  ];
  it.each(cases)('%s (%s, %s)', (_name, a, b, alternative, kind, t, df, p) => {
    const r = tTestOneSided(a, b, alternative, kind);
    expectRelativelyClose(r.t, t, 1e-9);
    expectRelativelyClose(r.df, df, 1e-9);
    expectRelativelyClose(r.p, p, 1e-8);
  });

  it('deterministic runs (zero variance) are decided by the means', () => {
    expect(tTestOneSided([1, 1], [2, 2], 'less', 'welch-t').p).toBe(0);
    expect(tTestOneSided([2, 2], [2, 2], 'less', 'welch-t').p).toBe(1);
    expect(tTestOneSided([3, 3], [2, 2], 'less', 'student-t').p).toBe(1);
  });

  it('needs two runs per sample and finite values', () => {
    expect(() => tTestOneSided([1], [2, 3], 'less', 'welch-t')).toThrow(/at least 2/);
    expect(() => tTestOneSided([1, Infinity], [2, 3], 'less', 'welch-t')).toThrow(/non-finite/);
  });

  it('property: swapping samples and direction gives the same p', () => {
    const sample = fc.array(fc.double({ min: 0, max: 10, noNaN: true }), { minLength: 2, maxLength: 12 });
    fc.assert(
      fc.property(sample, sample, (a, b) => {
        const x = tTestOneSided(a, b, 'less', 'welch-t').p;
        const y = tTestOneSided(b, a, 'greater', 'welch-t').p;
        expect(Math.abs(x - y)).toBeLessThan(1e-12);
        expect(x).toBeGreaterThanOrEqual(0);
        expect(x).toBeLessThanOrEqual(1);
      }),
    );
  });
});
