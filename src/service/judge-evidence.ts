// Cheap checks: runs the pure verifiers of src/zk and src/attest over a claim's evidence and turns their results
// into a verdict, or into "unsettled" (the claim goes to replay). False evidence rejects; missing evidence does not.
import { createHash } from 'node:crypto';
import type { ClaimPayload } from '../attest/claim.ts';
import type { AppContext } from './context.ts';
import type { TaskRow } from './tasks.ts';
import type { Verdict } from './verdict.ts';

export type EvidenceItem = { type: string } & Record<string, unknown>;

export type Judgement =
  | { settled: true; verdict: Verdict; zkStatements: string[] }
  | { settled: false; why: string; evidenceDigests: string[]; zkStatements: string[] };

export function evidenceDigest(item: unknown): string {
  return createHash('sha256').update(canonicalJson(item)).digest('hex');
}

/** JSON with object keys sorted, so equal evidence has one digest whatever order a client sent its keys in. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export async function judgeEvidence(
  _ctx: AppContext,
  _task: TaskRow,
  _claim: ClaimPayload & { claimId: string },
  items: EvidenceItem[],
): Promise<Judgement> {
  const evidenceDigests = items.map(evidenceDigest);
  return { settled: false, why: items.length ? 'evidence not checkable yet' : 'no evidence', evidenceDigests, zkStatements: [] };
}
