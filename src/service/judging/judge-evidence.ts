// Cheap checks: runs the pure verifiers of src/zk and src/attest over a claim's evidence and turns their results
// into a verdict, or into "unsettled" (the claim goes to replay). False evidence rejects; missing evidence does not.
import { evidenceDigest } from '../../verdict/evidence-digest.ts';
import { judgeAttestations } from '../../attest/verify-attestations.ts';
import { taskPolicySchema } from '../../attest/policy.ts';
import { environmentPinsOf } from '../../attest/task-pack.ts';
import type { VerifierKey } from '../../attest/registry.ts';
import type { AppContext } from '../context.ts';
import type { TaskRow } from '../actions/tasks.ts';
import type { Verdict } from '../../verdict/verdict.ts';
import { NEW_CLAIM, nextVerdict, type AttestationsOutcome, type ZkOutcome } from '../../verdict/rules.ts';
import { judgeZkEvidence, type CircuitHead } from './judge-zk.ts';
import type { ClaimUnderJudgement, EvidenceItem } from './evidence-item.ts';
import { loadRegistry } from '../storage/registry.ts';
import { observeCheck, secondsSince, timeCheck } from '../instruments.ts';

/** What the cheap checks at intake make of a claim's evidence: a verdict, or the reason it goes to replay. */
export type IntakeJudgement =
  | { settled: true; verdict: Verdict; zkStatements: string[] }
  | { settled: false; why: string; evidenceDigests: string[]; zkStatements: string[] };

export async function judgeEvidence(
  ctx: AppContext,
  task: TaskRow,
  claim: ClaimUnderJudgement,
  items: EvidenceItem[],
  /** The task's circuits, when the caller already read them; a beats-parent claim's parent runs (null otherwise). */
  known: { circuits?: readonly CircuitHead[]; parentRuns: readonly number[] | null },
): Promise<IntakeJudgement> {
  const { circuits, parentRuns } = known;
  const evidenceDigests = items.map(evidenceDigest);
  const attestations = items.filter((i) => i.type === 'attestation');
  const zk: ZkOutcome[] = [];
  let zkStatements: string[] = [];
  for (const item of items.filter((i) => i.type === 'zk')) {
    const result = await timeCheck('zk', () => judgeZkEvidence(ctx, task, claim, item, circuits), (r) => r.kind);
    zk.push(result.kind === 'uncheckable' ? { kind: 'uncheckable' } : result);
    if (result.kind === 'verified') zkStatements = [...zkStatements, ...result.statementDigests];
    // A false proof decides the claim: the items after it need no checking.
    if (result.kind === 'rejected') break;
  }
  let judged: AttestationsOutcome | null = null;
  if (attestations.length > 0 && zk.at(-1)?.kind !== 'rejected') {
    const registry = await loadRegistry(ctx.db);
    const started = process.hrtime.bigint();
    const outcome = judgeAttestationItems(task, claim, attestations, registry, ctx.now(), parentRuns);
    observeCheck('attestation', outcome.outcome, secondsSince(started));
    judged = { outcome: outcome.outcome, rule: outcome.rule };
  }
  const decision = nextVerdict(NEW_CLAIM, { kind: 'intake', zk, attestations: judged, evidenceDigests });
  if (decision) return { settled: true, verdict: decision.verdict, zkStatements: decision.verdict.method === 'zk' ? zkStatements : [] };
  const why = items.length ? 'evidence did not settle the claim' : 'no evidence';
  return { settled: false, why, evidenceDigests, zkStatements };
}

export function judgeAttestationItems(
  task: TaskRow,
  claim: ClaimUnderJudgement,
  items: readonly { envelope?: unknown; receivedAt?: Date | undefined }[] | EvidenceItem[],
  registry: VerifierKey[],
  now: Date,
  parentRuns: readonly number[] | null = null,
) {
  return judgeAttestations({
    claim,
    claimId: claim.claimId,
    envelopes: items.map((i) => ({ envelope: i.envelope, receivedAt: (i.receivedAt as Date | undefined) ?? now })),
    registry,
    policy: taskPolicySchema.parse(task.policy),
    now,
    parentRuns,
    pins: environmentPinsOf(task.pack),
  });
}
