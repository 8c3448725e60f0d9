// What the judges of evidence take: one evidence item as the client sent it (its shape is checked by the verifier of
// its type), and the signed claim being judged.
import type { ClaimPayload } from '../attest/claim.ts';

export type EvidenceItem = { type: string } & Record<string, unknown>;
export type ClaimUnderJudgement = ClaimPayload & { claimId: string };
