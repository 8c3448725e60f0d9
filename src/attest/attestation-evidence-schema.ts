// The shape of `attestation` evidence as a client sends it inside a claim, parsed at the edge (STYLE rule 3): the
// verifier's DSSE envelope and nothing else. Its signatures and statement are checked later (verify-attestations.ts);
// this bounds what can be stored beside the claim whatever they turn out to be.
import { z } from 'zod';
import { dsseEnvelopeSchema } from './dsse.ts';
import { MAX_STATEMENT_BYTES } from './statement.ts';

/** Base64 characters of the largest statement an attestation may carry: 4 per 3 bytes, padded. */
export const MAX_ATTESTATION_PAYLOAD_CHARS = 4 * Math.ceil(MAX_STATEMENT_BYTES / 3);

export const attestationEnvelopeSchema = dsseEnvelopeSchema
  .extend({
    // A statement over MAX_STATEMENT_BYTES is refused when verified anyway; refusing its base64 here keeps a
    // 1.4 MB payload that will never verify from being stored as evidence.
    payload: z.string().max(MAX_ATTESTATION_PAYLOAD_CHARS),
  })
  .strict();

/** Evidence of kind `attestation`: strict, so nothing unchecked rides along with the envelope. */
export const attestationEvidenceSchema = z
  .object({
    type: z.literal('attestation'),
    envelope: attestationEnvelopeSchema,
  })
  .strict();
export type AttestationEvidence = z.infer<typeof attestationEvidenceSchema>;
