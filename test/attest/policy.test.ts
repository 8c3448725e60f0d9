import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allowedShortfall, describeTolerance, taskPolicySchema, withinTolerance } from '../../src/attest/policy.ts';

const base = { quorum: 2, direction: 'lower', tolerance: { absolute: 0.25 }, runs: 3 } as const;

describe('taskPolicySchema', () => {
  it('defaults the beats-parent test to one-sided Welch at alpha 0.05', () => {
    expect(taskPolicySchema.parse(base).beatsParent).toEqual({ test: 'welch-t', alpha: 0.05 });
  });
  it.each([
    ['no tolerance', { ...base, tolerance: {} }],
    ['a negative tolerance', { ...base, tolerance: { absolute: -1 } }],
    ['a relative tolerance over 1', { ...base, tolerance: { relative: 1.5 } }],
    ['quorum 0', { ...base, quorum: 0 }],
    ['seeds not matching runs', { ...base, seeds: [1, 2] }],
    ['repeated seeds', { ...base, seeds: [1, 1, 2] }],
    ['alpha 0', { ...base, beatsParent: { test: 'welch-t', alpha: 0 } }],
    ['an unknown test', { ...base, beatsParent: { test: 'mann-whitney', alpha: 0.05 } }],
    ['an unknown field', { ...base, quorom: 3 }],
  ])('rejects %s', (_name, input) => {
    expect(taskPolicySchema.safeParse(input).success).toBe(false);
  });
});

// The comparison is fl(shortfall) <= fl(allowed) in doubles, inclusive. These values are dyadic rationals, so every
// subtraction below is exact and "just outside" is the next representable double.
describe('withinTolerance at the exact boundary', () => {
  const lower = taskPolicySchema.parse(base);
  const higher = taskPolicySchema.parse({ ...base, direction: 'higher' });
  const next = (x: number) => x + Number.EPSILON * 2 ** Math.floor(Math.log2(Math.abs(x)));
  const prev = (x: number) => x - Number.EPSILON * 2 ** Math.floor(Math.log2(Math.abs(x)));

  it('lower is better: measured = claimed + abs is inside, one ulp more is outside', () => {
    expect(withinTolerance(lower, 2.5, 2.75)).toBe(true);
    expect(next(2.75)).toBeGreaterThan(2.75);
    expect(withinTolerance(lower, 2.5, next(2.75))).toBe(false);
  });

  it('higher is better: measured = claimed − abs is inside, one ulp less is outside', () => {
    expect(withinTolerance(higher, 2.5, 2.25)).toBe(true);
    expect(withinTolerance(higher, 2.5, prev(2.25))).toBe(false);
  });

  it('one-sided: any measurement better than the claim agrees', () => {
    expect(withinTolerance(lower, 2.5, 1.0)).toBe(true);
    expect(withinTolerance(higher, 2.5, 100)).toBe(true);
  });

  it('relative tolerance uses |claimed|, and both add up', () => {
    const rel = taskPolicySchema.parse({ ...base, tolerance: { relative: 0.125 } });
    expect(allowedShortfall(rel.tolerance, -4)).toBe(0.5);
    expect(withinTolerance(rel, 4, 4.5)).toBe(true);
    expect(withinTolerance(rel, 4, next(4.5))).toBe(false);
    const both = taskPolicySchema.parse({ ...base, tolerance: { absolute: 0.25, relative: 0.125 } });
    expect(withinTolerance(both, 4, 4.75)).toBe(true);
    expect(withinTolerance(both, 4, next(4.75))).toBe(false);
    expect(describeTolerance(both.tolerance)).toBe('abs 0.25 + rel 0.125');
  });

  it('decimal inputs are compared as the doubles they are, with no hidden epsilon', () => {
    const t = taskPolicySchema.parse({ ...base, tolerance: { absolute: 0.01 } });
    // fl(3.31 − 3.3) = 0.010000000000000231 > 0.01: outside, as a one-line Python check confirms.
    expect(3.31 - 3.3).toBeGreaterThan(0.01);
    expect(withinTolerance(t, 3.3, 3.31)).toBe(false);
    // fl(0.03 − 0.02) = 0.009999999999999998 <= 0.01: inside. Both differences are "0.01" in decimal.
    expect(withinTolerance(t, 0.02, 0.03)).toBe(true);
  });

  it('property: agreement is monotone in the measurement', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e3, noNaN: true }),
        (claimed, measured, delta) => {
          if (withinTolerance(lower, claimed, measured)) expect(withinTolerance(lower, claimed, measured - delta)).toBe(true);
          if (!withinTolerance(higher, claimed, measured)) expect(withinTolerance(higher, claimed, measured - delta)).toBe(false);
        },
      ),
    );
  });
});
