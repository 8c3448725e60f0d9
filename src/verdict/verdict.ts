// What a verdict is: a claim's status, how it was decided, by which rule, on which evidence, and why (a closed list of
// reason codes, so that every page, log leaf and re-check names reasons the same way).
import type { ZkReason } from '../zk/verify.ts';

export type ClaimStatus = 'pending' | 'verified' | 'rejected' | 'disputed';
export type VerificationMethod = 'zk' | 'attested' | 'replayed';

/** Every reason a verdict may give, besides the zk verifier's own (ZkReason). */
export const VERDICT_REASONS = [
  // intake
  'zk_statement_reused',
  'attestation_contradicts',
  // a key's trust changed
  'quorum_lost',
  'contradiction_withdrawn',
  'verifier_compromised',
  // replay and audit
  'replay_bad_bundle',
  'replay_training_failed',
  'replay_harness_failed',
  'replay_contradicts',
  'audit_contradicts',
  'replay_abandoned',
] as const;

export type ReasonCode = ZkReason | (typeof VERDICT_REASONS)[number];

export type Verdict = {
  status: ClaimStatus;
  method: VerificationMethod | null;
  /** Why a claim is rejected, disputed or pending again; null when verified. */
  reasonCode: ReasonCode | null;
  /** The rule that decided, for people: "groth16 proof over 64 rows", "quorum 2/2 within abs 0.5". */
  rule: string;
  evidenceDigests: string[];
};

/** The reasons that say a trusted party's measurement contradicted the claim (withdrawn if that party's key falls). */
export const CONTRADICTION_REASONS: readonly ReasonCode[] = ['attestation_contradicts', 'replay_contradicts', 'audit_contradicts'];
