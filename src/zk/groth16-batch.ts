// Batch verification: the proofs of one claim, or of several claims pooled (src/zk/batch-verifier.ts), checked with one
// combined pairing equation, each group still getting its own result. A malformed point refuses only its group, and a
// failed combined check falls back to per-group and then per-proof checks, so one bad claim never rejects another.
import type { RegisteredCircuit } from './circuit-registration.ts';
import { BadPoint, g1From, g2From } from './curve-points.ts';
import type { Groth16Proof } from './evidence-schema.ts';
import { checkCombined, checkOne, preparedKey, type PreparedKey, type ProofPoints } from './groth16-pairing.ts';
import { assertSignalsFit } from './public-signals.ts';

export type Groth16Item = { proof: Groth16Proof; publicSignals: readonly bigint[] };

export type BatchResult = { ok: true } | { ok: false; reason: 'zk_bad_point' | 'zk_pairing_failed'; index: number; message: string };

/** How the pairing check of one claim's proofs is run: alone, or pooled with other claims' (src/zk/batch-verifier.ts). */
export type Groth16Checker = (circuit: RegisteredCircuit, items: readonly Groth16Item[]) => Promise<BatchResult>;

function parseItem(it: Groth16Item, i: number): ProofPoints {
  return {
    a: g1From(it.proof.pi_a, `shards[${i}].pi_a`),
    b: g2From(it.proof.pi_b, `shards[${i}].pi_b`),
    c: g1From(it.proof.pi_c, `shards[${i}].pi_c`),
    signals: it.publicSignals,
  };
}

function parseGroup(items: readonly Groth16Item[]): ProofPoints[] | BatchResult {
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
function findBadProof(p: PreparedKey, parsed: readonly ProofPoints[]): BatchResult {
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
  const p = await preparedKey(circuit);
  for (const g of groups) assertSignalsFit(p.ic.length - 1, g, 'verifyGroth16');
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
