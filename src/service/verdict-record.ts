// The canonical bytes of a verdict record: what the transparency log commits to. Keys in a fixed order, no
// whitespace, UTF-8; a third party recomputes these bytes from the claim bundle and compares the leaf hash.
import type { Verdict } from './verdict.ts';

export type VerdictClaimFields = {
  id: string;
  taskId: string;
  commit: string;
  submitter: string;
  metricName: string;
  metricValue: number;
};

export function toVerdictRecord(claim: VerdictClaimFields, verdict: Verdict, decidedAt: Date) {
  return {
    v: 1,
    claim: claim.id,
    task: claim.taskId,
    commit: claim.commit,
    submitter: claim.submitter,
    metric: { name: claim.metricName, value: claim.metricValue },
    status: verdict.status,
    method: verdict.method,
    reasonCode: verdict.reasonCode,
    rule: verdict.rule,
    evidence: verdict.evidenceDigests,
    decidedAt: decidedAt.toISOString(),
  };
}

export function toVerdictRecordBytes(claim: VerdictClaimFields, verdict: Verdict, decidedAt: Date): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(toVerdictRecord(claim, verdict, decidedAt)));
}
