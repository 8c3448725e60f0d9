// The canonical bytes of a verdict record: what the transparency log commits to. The format itself lives in the
// pure src/recheck/canonical.ts, so the service that writes it and a third party that recomputes it share one
// definition; this file maps the service's rows onto it.
import { verdictRecordText } from '../recheck/canonical.ts';
import type { Verdict } from './verdict.ts';

export type VerdictClaimFields = {
  id: string;
  taskId: string;
  commit: string;
  submitter: string;
  metricName: string;
  metricValue: number;
};

export function toVerdictRecordBytes(claim: VerdictClaimFields, verdict: Verdict, decidedAt: Date): Uint8Array {
  const text = verdictRecordText({
    claim: { id: claim.id, task: claim.taskId, commit: claim.commit, submitter: claim.submitter, metric: { name: claim.metricName, value: claim.metricValue } },
    verdict: { status: verdict.status, method: verdict.method, reasonCode: verdict.reasonCode, rule: verdict.rule, evidence: verdict.evidenceDigests },
    decidedAt: decidedAt.toISOString(),
  });
  return new TextEncoder().encode(text);
}
