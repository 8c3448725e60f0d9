// Public signals counted against the key and range-checked before they reach a binding or a pairing (STYLE rule 5).
// snarkjs's own verify once skipped these checks, and it still reduces silently where proofboard refuses.
import { FIELD_MODULUS } from './statement.ts';

export type SignalProblem = { reason: 'zk_signal_count'; count: number } | { reason: 'zk_signal_range'; index: number };

/** The first problem with one proof's public signals for a key taking nPublic of them, if any. */
export function findSignalProblem(nPublic: number, signals: readonly bigint[]): SignalProblem | undefined {
  // Threat: extra or missing signals shift every binding (and the key's IC points) by one.
  if (signals.length !== nPublic) return { reason: 'zk_signal_count', count: signals.length };
  // Threat: s and s + r are the same field element, so an unreduced signal would verify yet compare unequal to the
  // claim (or equal a different statement's digest).
  const index = signals.findIndex((s) => s < 0n || s >= FIELD_MODULUS);
  return index >= 0 ? { reason: 'zk_signal_range', index } : undefined;
}

/**
 * For the pairing layers, whose callers must have checked the signals already: a RangeError (a caller bug, not a
 * verdict) names the layer that found it.
 */
export function assertSignalsFit(nPublic: number, items: readonly { publicSignals: readonly bigint[] }[], layer: string): void {
  for (const it of items) {
    const problem = findSignalProblem(nPublic, it.publicSignals);
    if (problem?.reason === 'zk_signal_count') throw new RangeError(`${layer}: public signal count differs from the key`);
    if (problem?.reason === 'zk_signal_range') throw new RangeError(`${layer}: public signal out of range`);
  }
}
