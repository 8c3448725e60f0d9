// When a claim becomes verified, rejected, disputed or pending again: every rule of the project, as one pure function
// of the claim's state and what just happened. The service gathers the results of the pure checks (proofs,
// attestations, a replay's signed result) into an event, calls `nextVerdict`, and records what it returns; a third
// party's `recheck` rebuilds the same events from what it downloaded and must reach the verdicts the log holds.
//
// Principles the cases below share:
// - False evidence is not "no evidence": a proof that fails or a trusted contradiction rejects the claim.
// - A verified claim is never silently re-judged: a contradiction after it (an audit, a late attestation) disputes it.
// - Trust withdrawn (a key revoked as compromised) undoes what that trust decided, in both directions.
import type { TaskPolicy } from '../attest/policy.ts';
import type { ClaimStatus, ReasonCode, Verdict, VerificationMethod } from './verdict.ts';

/** What the rules need to know of a claim: its current status, how it got there, and why. */
export type ClaimState = {
  status: ClaimStatus;
  method: VerificationMethod | null;
  reasonCode: ReasonCode | string | null;
  /** An audit replay agreed with the claim's cheap verification (the "audited" badge). */
  audited?: boolean;
};

/** How the rule of an audit that agreed begins: what earns the "audited" badge, as the log shows it. */
export const AUDIT_AGREED = 'audit replay agreed';

export const NEW_CLAIM: ClaimState = { status: 'pending', method: null, reasonCode: null };

/** One zero-knowledge evidence item, as the zk verifier judged it. */
export type ZkOutcome =
  | { kind: 'verified'; rule: string }
  | { kind: 'rejected'; reasonCode: ReasonCode; rule: string }
  /** A circuit this service does not know: no evidence either way. */
  | { kind: 'uncheckable' };

/** All attestation evidence of a claim, judged together against the registry and the task policy. */
export type AttestationsOutcome = { outcome: 'verified' | 'contradicted' | 'insufficient'; rule: string };

export type VerdictEvent =
  /** A new claim's evidence, checked at intake: zk items in the order sent, then its attestations (if any). */
  | { kind: 'intake'; zk: readonly ZkOutcome[]; attestations: AttestationsOutcome | null; evidenceDigests: string[] }
  /** A zk statement of a claim verified at intake already counted for another claim (a re-randomised proof). */
  | { kind: 'zk_statement_reused'; evidenceDigests: string[] }
  /**
   * The claim's attestations judged again, because one arrived late (`new_attestation`) or because the trust registry
   * changed (`trust_changed`: a key was revoked, so what it signed may no longer count).
   */
  | { kind: 'attestations_judged'; cause: 'new_attestation' | 'trust_changed'; judged: AttestationsOutcome; evidenceDigests: string[] }
  /** A verifier's signed replay result: whether it agrees with the claim under the task's replay policy. */
  | { kind: 'replay_result'; job: 'replay' | 'audit'; agrees: boolean; rule: string; evidenceDigest: string }
  /** A verifier's signed report that the commit could not be replayed, for a reason that is the claim's own. */
  | { kind: 'replay_failure'; code: 'bad_bundle' | 'training_failed' | 'harness_failed'; verifier: string; message: string }
  /** The operator closed a replay job that could not be run. */
  | { kind: 'replay_abandoned'; job: 'replay' | 'audit'; attempts: number; reason: string }
  /** The key that signed the replay result behind this claim's verdict was revoked as compromised. */
  | { kind: 'replay_signer_compromised'; keyId: string }
  /** The key that signed the audit replay behind this claim's "audited" badge was revoked as compromised. */
  | { kind: 'audit_signer_compromised'; keyId: string }
  /** The key that signed the replay or audit result that contradicted this claim was revoked as compromised. */
  | { kind: 'contradiction_signer_compromised'; keyId: string };

/** What the service must do besides recording the verdict. */
export type FollowUp =
  /** Queue (or re-queue) a replay of the claim: its cheap evidence no longer settles it. */
  | 'queue_replay'
  /** Count the dispute against every verifier whose attestation had vouched for the claim. */
  | 'penalize_attesters'
  /** Mark the claim audited: a replay agreed with its cheap verification. */
  | 'mark_audited'
  /** Take the "audited" badge away and queue a new audit: the audit that earned it no longer counts. */
  | 'withdraw_audit';

export type Decision = { verdict: Verdict; then: FollowUp[] };

/** The verdict `event` leads to from `state`, or null when nothing changes. */
export function nextVerdict(state: ClaimState, event: VerdictEvent): Decision | null {
  switch (event.kind) {
    case 'intake':
      return state.status === 'pending' && state.reasonCode === null ? judgeIntake(event) : null;
    case 'zk_statement_reused':
      if (state.status !== 'verified' || state.method !== 'zk') return null;
      return decide({ status: 'rejected', method: null, reasonCode: 'zk_statement_reused', rule: 'a zk statement counts for one claim only', evidenceDigests: event.evidenceDigests });
    case 'attestations_judged':
      return judgeAttestationsAgain(state, event);
    case 'replay_result':
      return judgeReplayResult(state, event);
    case 'replay_failure': {
      if (state.status !== 'pending' && state.status !== 'verified') return null;
      return decide({
        status: state.status === 'verified' ? 'disputed' : 'rejected',
        method: null,
        reasonCode: `replay_${event.code}`,
        rule: `replay by verifier ${event.verifier}: ${event.code}: ${event.message.slice(0, 200)}`,
        evidenceDigests: [],
      });
    }
    case 'replay_abandoned':
      // An audit that never finished is no evidence against a claim that passed its cheap checks.
      if (event.job !== 'replay' || state.status !== 'pending') return null;
      return decide({
        status: 'rejected',
        method: null,
        reasonCode: 'replay_abandoned',
        rule: `replay abandoned by the operator after ${event.attempts} attempts: ${event.reason}`,
        evidenceDigests: [],
      });
    case 'replay_signer_compromised':
      // A replay verdict signed by a compromised key proves nothing any more.
      if (state.status !== 'verified' || state.method !== 'replayed') return null;
      return decide(
        { status: 'pending', method: null, reasonCode: 'verifier_compromised', rule: `replay signer ${event.keyId} revoked as compromised`, evidenceDigests: [] },
        'queue_replay',
      );
    case 'contradiction_signer_compromised':
      // The contradiction rested on that one signed result; without it the claim is open again, and replayed anew.
      if ((state.status !== 'rejected' && state.status !== 'disputed') || (state.reasonCode !== 'replay_contradicts' && state.reasonCode !== 'audit_contradicts')) {
        return null;
      }
      return decide(
        { status: 'pending', method: null, reasonCode: 'contradiction_withdrawn', rule: `the contradiction's signer ${event.keyId} was revoked as compromised`, evidenceDigests: [] },
        'queue_replay',
      );
    case 'audit_signer_compromised':
      // Revocation withdraws everything the key gave, badges included; the verdict itself rests on other evidence.
      if (state.status !== 'verified' || !state.audited) return null;
      return decide(
        { status: 'verified', method: state.method, reasonCode: null, rule: `audit withdrawn: its signer ${event.keyId} was revoked as compromised`, evidenceDigests: [] },
        'withdraw_audit',
      );
  }
}

/**
 * Proofs first: they are the cheapest sound check, and a false one rejects whatever else came with it. Then the
 * attestations: a trusted contradiction rejects even a claim whose proof verified (the proof says the weights score
 * M; the contradiction says the commit's training does not produce them). Unsettled evidence decides nothing: the
 * claim stays pending and goes to replay.
 */
function judgeIntake(event: Extract<VerdictEvent, { kind: 'intake' }>): Decision | null {
  const { evidenceDigests } = event;
  let zkRule: string | null = null;
  for (const item of event.zk) {
    if (item.kind === 'rejected') return decide({ status: 'rejected', method: null, reasonCode: item.reasonCode, rule: item.rule, evidenceDigests });
    if (item.kind === 'verified') zkRule = item.rule;
  }
  const att = event.attestations;
  if (att?.outcome === 'contradicted') {
    return decide({ status: 'rejected', method: null, reasonCode: 'attestation_contradicts', rule: att.rule, evidenceDigests });
  }
  if (zkRule !== null) return decide({ status: 'verified', method: 'zk', reasonCode: null, rule: zkRule, evidenceDigests });
  if (att?.outcome === 'verified') return decide({ status: 'verified', method: 'attested', reasonCode: null, rule: att.rule, evidenceDigests });
  return null;
}

/**
 * All of a claim's attestations, judged again. Claims settled by zk or replay keep their verdict unless a trusted
 * attestation contradicts them; a claim verified by attestation whose quorum no longer counts goes back to pending
 * (and to replay). Only a change of trust re-opens a rejected claim, when the contradiction that rejected it no longer
 * counts: a late attestation that agrees does not overturn a contradiction by a key that still counts.
 */
function judgeAttestationsAgain(state: ClaimState, event: Extract<VerdictEvent, { kind: 'attestations_judged' }>): Decision | null {
  const { judged, evidenceDigests } = event;
  const { status } = state;
  if (judged.outcome === 'contradicted') {
    if (status !== 'pending' && status !== 'verified') return null;
    return decide({ status: status === 'verified' ? 'disputed' : 'rejected', method: null, reasonCode: 'attestation_contradicts', rule: judged.rule, evidenceDigests });
  }
  if (status === 'pending' && judged.outcome === 'verified') {
    return decide({ status: 'verified', method: 'attested', reasonCode: null, rule: judged.rule, evidenceDigests });
  }
  if (status === 'verified' && state.method === 'attested' && judged.outcome !== 'verified') {
    return decide({ status: 'pending', method: null, reasonCode: 'quorum_lost', rule: judged.rule, evidenceDigests }, 'queue_replay');
  }
  // Only an attestation's contradiction is re-judged with the other attestations; a replay's or an audit's goes with
  // its own signer (contradiction_signer_compromised), never because some other key changed.
  const withdrawn = event.cause === 'trust_changed' && (status === 'rejected' || status === 'disputed');
  if (withdrawn && state.reasonCode === 'attestation_contradicts') {
    if (judged.outcome === 'verified') return decide({ status: 'verified', method: 'attested', reasonCode: null, rule: judged.rule, evidenceDigests });
    return decide(
      { status: 'pending', method: null, reasonCode: 'contradiction_withdrawn', rule: `the contradiction no longer counts; ${judged.rule}`, evidenceDigests },
      'queue_replay',
    );
  }
  return null;
}

function judgeReplayResult(state: ClaimState, event: Extract<VerdictEvent, { kind: 'replay_result' }>): Decision | null {
  const evidenceDigests = [event.evidenceDigest];
  if (state.status === 'pending') {
    return event.agrees
      ? decide({ status: 'verified', method: 'replayed', reasonCode: null, rule: `replay: ${event.rule}`, evidenceDigests })
      : decide({ status: 'rejected', method: null, reasonCode: 'replay_contradicts', rule: `replay: ${event.rule}`, evidenceDigests });
  }
  if (state.status !== 'verified') return null;
  if (!event.agrees) {
    return decide({ status: 'disputed', method: null, reasonCode: 'audit_contradicts', rule: `audit replay: ${event.rule}`, evidenceDigests }, 'penalize_attesters');
  }
  // Logged like any verdict, so that a third party can re-check the "audited" badge too.
  return decide({ status: 'verified', method: state.method, reasonCode: null, rule: `${AUDIT_AGREED}: ${event.rule}`, evidenceDigests }, 'mark_audited');
}

/**
 * The policy a replay result is judged under: one verifier's word (quorum 1), since the service chose that verifier
 * and leased it the job; the task's tolerance and runs still apply.
 */
export function replayPolicy(policy: TaskPolicy): TaskPolicy {
  return { ...policy, quorum: 1 };
}

function decide(verdict: Verdict, ...then: FollowUp[]): Decision {
  return { verdict, then };
}
