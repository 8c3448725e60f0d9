// Cheap checks: runs the pure verifiers of src/zk and src/attest over a claim's evidence and turns their results
// into a verdict, or into "unsettled" (the claim goes to replay). False evidence rejects; missing evidence does not.
import type { ClaimPayload } from '../attest/claim.ts';
import { evidenceDigest } from '../recheck/canonical.ts';
import { judgeAttestations } from '../attest/verify-attestations.ts';
import { taskPolicySchema } from '../attest/policy.ts';
import type { VerifierKey } from '../attest/registry.ts';
import type { AppContext } from './context.ts';
import type { TaskRow } from './tasks.ts';
import type { Verdict } from './verdict.ts';
import { judgeZkEvidence, type CircuitHead } from './judge-zk.ts';
import { loadRegistry } from './registry.ts';
import { observeCheck, secondsSince, timeCheck } from './instruments.ts';

export { evidenceDigest };

export type EvidenceItem = { type: string } & Record<string, unknown>;

export type Judgement =
  | { settled: true; verdict: Verdict; zkStatements: string[] }
  | { settled: false; why: string; evidenceDigests: string[]; zkStatements: string[] };

export type ClaimUnderJudgement = ClaimPayload & { claimId: string };

export async function judgeEvidence(
  ctx: AppContext,
  task: TaskRow,
  claim: ClaimUnderJudgement,
  items: EvidenceItem[],
  circuits?: readonly CircuitHead[],
): Promise<Judgement> {
  const evidenceDigests = items.map(evidenceDigest);
  const zkItems = items.filter((i) => i.type === 'zk');
  const attestations = items.filter((i) => i.type === 'attestation');

  // Proofs first: they are the cheapest sound check, and a false one rejects whatever else came with it.
  let zkStatements: string[] = [];
  let zkVerified: Verdict | null = null;
  for (const item of zkItems) {
    const result = await timeCheck('zk', () => judgeZkEvidence(ctx, task, claim, item, circuits), (r) => r.kind);
    if (result.kind === 'rejected') {
      return { settled: true, zkStatements: [], verdict: rejected(result.reasonCode, result.rule, evidenceDigests) };
    }
    if (result.kind === 'verified') {
      zkStatements = [...zkStatements, ...result.statementDigests];
      zkVerified = { status: 'verified', method: 'zk', reasonCode: null, rule: result.rule, evidenceDigests };
    }
  }

  if (attestations.length > 0) {
    const registry = await loadRegistry(ctx.db);
    const started = process.hrtime.bigint();
    const outcome = judgeAttestationItems(task, claim, attestations, registry, ctx.now());
    observeCheck('attestation', outcome.outcome, secondsSince(started));
    if (outcome.outcome === 'contradicted') {
      return { settled: true, zkStatements: [], verdict: rejected('attestation_contradicts', outcome.rule, evidenceDigests) };
    }
    if (!zkVerified && outcome.outcome === 'verified') {
      return {
        settled: true,
        zkStatements,
        verdict: { status: 'verified', method: 'attested', reasonCode: null, rule: outcome.rule, evidenceDigests },
      };
    }
  }
  if (zkVerified) return { settled: true, zkStatements, verdict: zkVerified };
  const why = items.length ? 'evidence did not settle the claim' : 'no evidence';
  return { settled: false, why, evidenceDigests, zkStatements };
}

export function judgeAttestationItems(
  task: TaskRow,
  claim: ClaimUnderJudgement,
  items: readonly { envelope?: unknown; receivedAt?: Date | undefined }[] | EvidenceItem[],
  registry: VerifierKey[],
  now: Date,
) {
  return judgeAttestations({
    claim,
    claimId: claim.claimId,
    envelopes: items.map((i) => ({ envelope: i.envelope, receivedAt: (i.receivedAt as Date | undefined) ?? now })),
    registry,
    policy: taskPolicySchema.parse(task.policy),
    now,
  });
}

function rejected(reasonCode: string, rule: string, evidenceDigests: string[]): Verdict {
  return { status: 'rejected', method: null, reasonCode, rule, evidenceDigests };
}
