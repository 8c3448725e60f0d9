// The submitter's intake envelope: "I send claim X, with exactly these evidence items, to this log". The claim itself
// signs only what is claimed (its id is the hash of that payload, and attestations name that id), so without this
// second signature anyone who saw a claim could post it first with junk evidence and have it rejected for good in its
// owner's name, or post it to another deployment. Pure, so the server's intake and a third party's recheck run the same
// check over the same bytes.
import { z } from 'zod';
import { utf8 } from './bytes.ts';
import { openSingleSignerEnvelope, signDsse, type DsseEnvelope } from './dsse.ts';
import { parseStrictJson } from './strict-json.ts';
import { firstIssue } from './validation.ts';

export const INTAKE_PAYLOAD_TYPE = 'application/vnd.proofboard.intake.v1+json';
/** 64 digests of 64 hex each and a short origin fit well under it. */
export const MAX_INTAKE_PAYLOAD_BYTES = 8192;
/** A bound on the list itself; the service accepts fewer items per claim (src/service/judging/evidence-item.ts). */
export const MAX_INTAKE_EVIDENCE = 64;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex (SHA-256)');

export const intakePayloadSchema = z
  .object({
    v: z.literal(1),
    claimId: sha256Hex,
    // The log's origin (C2SP tlog-checkpoint's first line): one deployment's name for itself, so the same signed
    // intake is refused by any other deployment.
    audience: z.string().min(1).max(256),
    // The digest of each evidence item (src/verdict/evidence-digest.ts), in the order sent.
    evidence: z.array(sha256Hex).max(MAX_INTAKE_EVIDENCE),
  })
  .strict();
export type IntakePayload = z.infer<typeof intakePayloadSchema>;

export type IntakeRefusal = 'bad_intake' | 'intake_mismatch' | 'wrong_audience';
export type IntakeCheck = { ok: true; intake: IntakePayload } | { ok: false; reason: IntakeRefusal; message: string };

/** What the intake must bind: the claim as it verified, the evidence as it will be stored, and this log. */
export type IntakeExpectation = { claimId: string; submitter: string; audience: string; evidenceDigests: readonly string[] };

export function signIntake(intake: Omit<IntakePayload, 'v'>, secretKey: Uint8Array, submitterHex: string): DsseEnvelope {
  const payload: IntakePayload = { v: 1, claimId: intake.claimId, audience: intake.audience, evidence: [...intake.evidence] };
  return signDsse(INTAKE_PAYLOAD_TYPE, utf8(JSON.stringify(payload)), secretKey, submitterHex);
}

/**
 * Checks that the claim's own submitter signed this intake for exactly this claim, this evidence (same items, same
 * order) and this log. Signature first, over the exact bytes; the payload's JSON is parsed only once it verified.
 */
export function verifyIntakeEnvelope(untrusted: unknown, expected: IntakeExpectation): IntakeCheck {
  if (untrusted === undefined || untrusted === null) {
    return refuse('bad_intake', 'intake is required: the submitter signs the claim id, the evidence digests and the log origin (src/attest/intake.ts)');
  }
  const opened = openSingleSignerEnvelope(untrusted, INTAKE_PAYLOAD_TYPE, { what: 'intake', maxPayloadBytes: MAX_INTAKE_PAYLOAD_BYTES });
  if (!opened.ok) return refuse('bad_intake', opened.message);
  // Another key's signature would let a bystander vouch for someone else's claim: the stolen-claim attack itself.
  if (opened.keyid !== expected.submitter) return refuse('bad_intake', 'intake is not signed by the claim\'s submitter');
  const json = parseStrictJson(opened.payload);
  if (!json.ok) return refuse('bad_intake', json.message);
  const parsed = intakePayloadSchema.safeParse(json.value);
  if (!parsed.success) return refuse('bad_intake', firstIssue(parsed.error, 'intake'));
  const intake = parsed.data;
  if (intake.claimId !== expected.claimId) return refuse('intake_mismatch', 'intake.claimId names another claim');
  // A claim signed for another deployment: posting it here would burn or duplicate it in its owner's name.
  if (intake.audience !== expected.audience) {
    return refuse('wrong_audience', `intake is meant for ${JSON.stringify(intake.audience)}, this log is ${JSON.stringify(expected.audience)}`);
  }
  if (!sameDigests(intake.evidence, expected.evidenceDigests)) {
    return refuse('intake_mismatch', `the evidence sent (${expected.evidenceDigests.length} items) is not the evidence the submitter signed (${intake.evidence.length} items)`);
  }
  return { ok: true, intake };
}

export function sameDigests(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function refuse(reason: IntakeRefusal, message: string): IntakeCheck {
  return { ok: false, reason, message };
}
