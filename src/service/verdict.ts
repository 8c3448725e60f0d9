// The verdict record: what a claim's status is, how it was decided, by which rule, on which evidence.
export type ClaimStatus = 'pending' | 'verified' | 'rejected' | 'disputed';
export type VerificationMethod = 'zk' | 'attested' | 'replayed';

export type Verdict = {
  status: Exclude<ClaimStatus, 'pending'> | 'pending';
  method: VerificationMethod | null;
  /** Machine-readable reason for rejected, disputed or re-opened claims; null when verified. */
  reasonCode: string | null;
  /** Human-readable rule that decided it, e.g. "groth16 proof over 4 shards" or "quorum 2/2 within abs 0.5". */
  rule: string;
  evidenceDigests: string[];
};
