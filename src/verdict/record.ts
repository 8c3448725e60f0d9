// The canonical verdict record: the bytes a transparency-log leaf holds for each verdict. The service writes it and a
// third party recomputes it from the signed claim with this one function, so the two cannot drift apart.

export type VerdictRecordInput = {
  claim: { id: string; task: string; commit: string; submitter: string; metric: { name: string; value: number } };
  verdict: { status: string; method: string | null; reasonCode: string | null; rule: string; evidence: readonly string[] };
  decidedAt: string;
  /**
   * The log entry of the task's definition (src/attest/task-pack.ts taskDefinitionLeafText): what the verdict was
   * judged against. Absent for a task registered before definitions were logged, so those records keep their bytes.
   */
  taskDefinitionEntry?: number | null;
};

/** Fixed key order, no whitespace, UTF-8 once encoded. */
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
    ...(r.taskDefinitionEntry === undefined || r.taskDefinitionEntry === null ? {} : { taskDefinitionEntry: r.taskDefinitionEntry }),
  });
}
