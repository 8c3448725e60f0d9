// A submitter's claim: "commit C of task T reaches metric M", signed by the submitter as a DSSE envelope.
// This module is pure so that the server's intake and a third party's recheck run the same check.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { utf8 } from './bytes.ts';
import { openSingleSignerEnvelope, signDsse, type DsseEnvelope } from './dsse.ts';
import { firstIssue } from './validation.ts';
import { parseStrictJson } from './strict-json.ts';

export const CLAIM_PAYLOAD_TYPE = 'application/vnd.proofboard.claim.v1+json';
export const MAX_CLAIM_PAYLOAD_BYTES = 4096;

const hex = (n: number) => new RegExp(`^[0-9a-f]{${n}}$`);
export const commitSchema = z.string().regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/, 'git commit: 40 or 64 lowercase hex');
export const taskIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'task id: lowercase letters, digits, dashes');
export const sha256RefSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 hex>');
export const publicKeyHexSchema = z.string().regex(hex(64), 'Ed25519 public key: 64 lowercase hex');

export const claimPayloadSchema = z
  .object({
    v: z.literal(1),
    task: taskIdSchema,
    commit: commitSchema,
    parent: commitSchema.nullable(),
    // Says the commit beats its parent: the task's policy then requires a statistical test over replays.
    beatsParent: z.boolean().default(false),
    metric: z
      .object({
        name: z.string().regex(/^[a-z][a-z0-9_]{0,31}$/),
        // JSON.parse turns 1e309 into Infinity; finite() rejects it along with NaN.
        value: z.number().finite().gte(-1e12).lte(1e12),
      })
      .strict(),
    submitter: publicKeyHexSchema,
    createdAt: z.iso.datetime({ offset: false }),
    bundle: sha256RefSchema,
  })
  .strict();

export type ClaimPayload = z.infer<typeof claimPayloadSchema>;

export type ClaimRejection =
  | 'bad_envelope'
  | 'wrong_payload_type'
  | 'bad_signature'
  | 'bad_claim'
  | 'submitter_mismatch'
  | 'payload_too_large';

export type VerifiedClaim = {
  ok: true;
  /** SHA-256 of the exact signed payload bytes: the claim's identity, so the same claim twice is one claim. */
  claimId: string;
  claim: ClaimPayload;
  payload: Uint8Array;
};
export type ClaimCheck = VerifiedClaim | { ok: false; reason: ClaimRejection; message: string };

export function claimIdOf(payload: Uint8Array): string {
  return createHash('sha256').update(payload).digest('hex');
}

/**
 * Checks a claim envelope in the order that keeps parsing of unauthenticated bytes to a minimum:
 * envelope shape, payload type, then the signature by the key named in the single signature's keyid over the exact
 * payload bytes, and only then the payload's JSON, which must name that same key as submitter.
 */
export function verifyClaimEnvelope(untrusted: unknown): ClaimCheck {
  const opened = openSingleSignerEnvelope(untrusted, CLAIM_PAYLOAD_TYPE, { what: 'claim', maxPayloadBytes: MAX_CLAIM_PAYLOAD_BYTES });
  if (!opened.ok) return reject(opened.reason, opened.message);
  // Strict: a key spelled twice would make one signature say two things (src/attest/strict-json.ts).
  const json = parseStrictJson(opened.payload);
  if (!json.ok) return reject('bad_claim', json.message);
  const parsed = claimPayloadSchema.safeParse(json.value);
  if (!parsed.success) {
    return reject('bad_claim', firstIssue(parsed.error, 'payload'));
  }
  // The signer must be the submitter the claim names, or a key could sign claims "on behalf of" another.
  if (parsed.data.submitter !== opened.keyid) {
    return reject('submitter_mismatch', 'claim.submitter differs from the signing key');
  }
  return { ok: true, claimId: claimIdOf(opened.payload), claim: parsed.data, payload: opened.payload };
}

export function signClaim(claim: ClaimPayload, secretKey: Uint8Array): DsseEnvelope {
  return signDsse(CLAIM_PAYLOAD_TYPE, utf8(JSON.stringify(claim)), secretKey, claim.submitter);
}

function reject(reason: ClaimRejection, message: string): ClaimCheck {
  return { ok: false, reason, message };
}
