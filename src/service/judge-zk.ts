// Zero-knowledge evidence against the circuits the operator registered for the task (never a client's key).
import type { AppContext } from './context.ts';
import type { TaskRow } from './tasks.ts';
import type { ClaimUnderJudgement, EvidenceItem } from './judge-evidence.ts';

export type ZkJudgement =
  | { kind: 'verified'; rule: string; statementDigests: string[] }
  | { kind: 'rejected'; reasonCode: string; rule: string }
  | { kind: 'uncheckable'; why: string };

export async function judgeZkEvidence(
  _ctx: AppContext,
  _task: TaskRow,
  _claim: ClaimUnderJudgement,
  _item: EvidenceItem,
): Promise<ZkJudgement> {
  return { kind: 'uncheckable', why: 'no circuit registered' };
}
