// A stored claim as its submitter signed it.
import type { claims } from '../../../db/schema.ts';
import { verifyClaimEnvelope, type ClaimPayload } from '../../attest/claim.ts';

/** The claim exactly as its submitter signed it, re-read from the stored envelope. */
export function claimPayloadOf(claim: typeof claims.$inferSelect): ClaimPayload {
  const checked = verifyClaimEnvelope(claim.envelope);
  // Stored claims passed this check at intake; failing now means the database was altered behind our back.
  if (!checked.ok || checked.claimId !== claim.id) throw new Error(`stored claim ${claim.id} no longer verifies`);
  return checked.claim;
}
