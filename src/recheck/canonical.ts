// The two byte formats a re-check recomputes instead of taking the server's word: evidence digests and verdict
// records. The service writes them through these same functions (src/service/judge-evidence.ts,
// src/service/verdict-record.ts), so there is one definition of each.
import { createHash } from 'node:crypto';

/** JSON with object keys sorted and undefined members dropped: one digest per evidence value. */
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

export function evidenceDigest(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

export type VerdictRecordInput = {
  claim: { id: string; task: string; commit: string; submitter: string; metric: { name: string; value: number } };
  verdict: { status: string; method: string | null; reasonCode: string | null; rule: string; evidence: readonly string[] };
  decidedAt: string;
};

/** The canonical verdict record: fixed key order, no whitespace, UTF-8 (what the log leaf holds). */
export function verdictRecordText(r: VerdictRecordInput): string {
  return JSON.stringify({
    v: 1,
    claim: r.claim.id,
    task: r.claim.task,
    commit: r.claim.commit,
    submitter: r.claim.submitter,
    metric: { name: r.claim.metric.name, value: r.claim.metric.value },
    status: r.verdict.status,
    method: r.verdict.method,
    reasonCode: r.verdict.reasonCode,
    rule: r.verdict.rule,
    evidence: r.verdict.evidence,
    decidedAt: r.decidedAt,
  });
}
