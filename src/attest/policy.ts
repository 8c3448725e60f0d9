// A task's attestation policy: how many distinct trusted verifiers must agree, how close is "agree", how many runs,
// and the statistical test that a "beats its parent" claim must pass. Set by the operator with the task.
import { z } from 'zod';

const seedSchema = z.number().int().min(0).max(0xffff_ffff);
const toleranceValue = z.number().finite().min(0).max(1e12);

export const toleranceSchema = z
  .object({ absolute: toleranceValue.optional(), relative: toleranceValue.max(1).optional() })
  .strict()
  .refine((t) => t.absolute !== undefined || t.relative !== undefined, 'set absolute, relative or both');

export const taskPolicySchema = z
  .object({
    /** Distinct operators whose trusted keys must agree. Two signatures by one key, or by two keys of one operator, are one vote. */
    quorum: z.number().int().min(1).max(16),
    /** Which way is better for the task's metric: `lower` for a loss, `higher` for an accuracy. */
    direction: z.enum(['higher', 'lower']),
    /**
     * How far an attestation's mean may fall short of the claimed value and still agree. With both set, the allowance
     * is their sum: absolute + relative × |claimed|.
     */
    tolerance: toleranceSchema,
    /** Runs each attestation must report. */
    runs: z.number().int().min(1).max(64),
    /** When set, exactly these seeds must be run (so verifiers measure the same thing); length must equal `runs`. */
    seeds: z.array(seedSchema).min(1).max(64).optional(),
    /** For a claim that says it beats its parent: a one-sided two-sample t-test of the claim's runs over the parent's. */
    beatsParent: z
      .object({ test: z.enum(['welch-t', 'student-t']), alpha: z.number().gt(0).max(0.5) })
      .strict()
      .default({ test: 'welch-t', alpha: 0.05 }),
    /**
     * Whether an operator's attestation counts for a claim signed by one of that operator's own keys (the claim's
     * submitter key is one of its verifier keys). `refuse` (the default): an operator cannot verify its own claims.
     * The default keeps tasks registered before this field parsing, and judged, the stricter way.
     */
    selfAttestation: z.enum(['refuse', 'allow']).default('refuse'),
  })
  .strict()
  .refine((p) => p.seeds === undefined || p.seeds.length === p.runs, { message: 'seeds must list exactly `runs` seeds', path: ['seeds'] })
  .refine((p) => p.seeds === undefined || new Set(p.seeds).size === p.seeds.length, { message: 'seeds must be distinct', path: ['seeds'] });

export type TaskPolicy = z.infer<typeof taskPolicySchema>;
/** A policy as an operator writes it: fields with a default may be left out. */
export type TaskPolicyInput = z.input<typeof taskPolicySchema>;
export type Tolerance = z.infer<typeof toleranceSchema>;
export type Direction = TaskPolicy['direction'];

/**
 * The allowed shortfall for a claimed value: fl(absolute + fl(relative × |claimed|)) in IEEE-754 double arithmetic.
 */
export function allowedShortfall(tolerance: Tolerance, claimed: number): number {
  return (tolerance.absolute ?? 0) + (tolerance.relative ?? 0) * Math.abs(claimed);
}

/**
 * How much worse than claimed a measured value is, in the task's direction: fl(measured − claimed) for `lower`,
 * fl(claimed − measured) for `higher`. Negative when the measurement is better than the claim.
 */
export function shortfall(direction: Direction, claimed: number, measured: number): number {
  return direction === 'lower' ? measured - claimed : claimed - measured;
}

/**
 * Whether a measured value agrees with a claim: shortfall ≤ allowed shortfall, both computed as above in double
 * precision with no extra epsilon, so anyone can reproduce a verdict with one line of JavaScript or Python.
 *
 * The test is one-sided on purpose: a claim says "reaches M", and a measurement better than M does not make it
 * false (the leaderboard ranks by the claimed value, so under-claiming gains nothing). Tolerances are meant to be
 * far above one ulp of the metric; at the exact boundary the comparison is inclusive.
 */
export function withinTolerance(policy: Pick<TaskPolicy, 'direction' | 'tolerance'>, claimed: number, measured: number): boolean {
  return shortfall(policy.direction, claimed, measured) <= allowedShortfall(policy.tolerance, claimed);
}

/** Human-readable tolerance for verdict rules, e.g. `abs 0.01`, `rel 0.002`, `abs 0.01 + rel 0.002`. */
export function describeTolerance(tolerance: Tolerance): string {
  const parts: string[] = [];
  if (tolerance.absolute !== undefined) parts.push(`abs ${tolerance.absolute}`);
  if (tolerance.relative !== undefined) parts.push(`rel ${tolerance.relative}`);
  return parts.join(' + ');
}
