// DSSE v1 envelopes (https://github.com/secure-systems-lab/dsse/blob/master/protocol.md, envelope.md).
// Signatures cover PAE(payloadType, payload), never re-serialised JSON, and the payload type separates domains:
// a claim signature can never be replayed as an attestation or the other way round.
import { z } from 'zod';
import { concatBytes, fromBase64, fromHex, toBase64, utf8, EncodingError } from './bytes.ts';
import { signEd25519, verifyEd25519, type Ed25519Mode } from './ed25519.ts';
import { firstIssue } from './validation.ts';

export const MAX_DSSE_SIGNATURES = 16;

export const dsseEnvelopeSchema = z
  .object({
    payloadType: z.string().min(1).max(128),
    payload: z.string().max(1_400_000),
    signatures: z
      .array(z.object({ keyid: z.string().max(128).optional(), sig: z.string().min(1).max(256) }).strict())
      .min(1)
      .max(MAX_DSSE_SIGNATURES),
  })
  .strict();

export type DsseEnvelope = z.infer<typeof dsseEnvelopeSchema>;

/** DSSE pre-authentication encoding: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths in bytes. */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = utf8(payloadType);
  return concatBytes(utf8(`DSSEv1 ${type.length} `), type, utf8(` ${payload.length} `), payload);
}

export function signDsse(payloadType: string, payload: Uint8Array, secretKey: Uint8Array, keyid?: string): DsseEnvelope {
  const sig = signEd25519(preAuthEncoding(payloadType, payload), secretKey);
  return { payloadType, payload: toBase64(payload), signatures: [{ ...(keyid ? { keyid } : {}), sig: toBase64(sig) }] };
}

export function addDsseSignature(env: DsseEnvelope, secretKey: Uint8Array, keyid?: string): DsseEnvelope {
  const payload = fromBase64(env.payload, 'payload');
  const sig = signEd25519(preAuthEncoding(env.payloadType, payload), secretKey);
  return { ...env, signatures: [...env.signatures, { ...(keyid ? { keyid } : {}), sig: toBase64(sig) }] };
}

export type DecodedEnvelope = { payloadType: string; payload: Uint8Array; signatures: { keyid?: string; sig: Uint8Array }[] };

/** Decodes the base64 fields. Throws EncodingError naming the field; callers map it to a rejection. */
export function decodeDsse(env: DsseEnvelope): DecodedEnvelope {
  return {
    payloadType: env.payloadType,
    payload: fromBase64(env.payload, 'payload'),
    signatures: env.signatures.map((s, i) => ({
      ...(s.keyid !== undefined ? { keyid: s.keyid } : {}),
      sig: fromBase64(s.sig, `signatures[${i}].sig`),
    })),
  };
}

/** Whether `sig` is a valid signature by `publicKey` over the envelope's PAE. The mode is the caller's to pin. */
export function verifyDsseSignature(
  decoded: DecodedEnvelope,
  sig: Uint8Array,
  publicKey: Uint8Array,
  mode: Ed25519Mode,
): boolean {
  return verifyEd25519(sig, preAuthEncoding(decoded.payloadType, decoded.payload), publicKey, mode);
}

export type SingleSignerRefusal = 'bad_envelope' | 'wrong_payload_type' | 'payload_too_large' | 'bad_signature';

export type OpenedEnvelope =
  | {
      ok: true;
      /** The exact signed bytes: the caller parses these, never a re-serialisation. */
      payload: Uint8Array;
      /** The signer's Ed25519 public key as lowercase hex, as the envelope's keyid names it. */
      keyid: string;
      publicKey: Uint8Array;
    }
  | { ok: false; reason: SingleSignerRefusal; message: string };

/**
 * Opens an envelope that one author signs with the key its keyid names (a claim, a worker request), in the order
 * that parses the fewest unauthenticated bytes: shape, payload type, one signature, base64 and key, the payload's
 * size, then the signature (strict Ed25519) over PAE(payloadType, payload). Whether that key may sign is the
 * caller's next step.
 */
export function openSingleSignerEnvelope(
  untrusted: unknown,
  payloadType: string,
  opts: { what: string; maxPayloadBytes?: number },
): OpenedEnvelope {
  const shape = dsseEnvelopeSchema.safeParse(untrusted);
  if (!shape.success) return refuse('bad_envelope', firstIssue(shape.error, 'envelope'));
  const env = shape.data;
  // Domain separation: any other DSSE document signed by the same key (an attestation, a claim) is not this one.
  if (env.payloadType !== payloadType) return refuse('wrong_payload_type', `payloadType must be ${payloadType}`);
  // Exactly one signature: the document has one author, and extra signatures would be unauthenticated baggage.
  if (env.signatures.length !== 1) return refuse('bad_envelope', `a ${opts.what} carries exactly one signature`);
  const keyid = env.signatures[0]!.keyid ?? '';
  let decoded: DecodedEnvelope;
  let publicKey: Uint8Array;
  try {
    decoded = decodeDsse(env);
    publicKey = fromHex(keyid, 'signatures[0].keyid', 32);
  } catch (e) {
    if (e instanceof EncodingError) return refuse('bad_envelope', e.message);
    throw e;
  }
  // Bounds the work spent on a payload before its signature is known to be good.
  if (opts.maxPayloadBytes !== undefined && decoded.payload.length > opts.maxPayloadBytes) {
    return refuse('payload_too_large', `${opts.what} payload over ${opts.maxPayloadBytes} bytes`);
  }
  if (!verifyDsseSignature(decoded, decoded.signatures[0]!.sig, publicKey, 'strict')) {
    return refuse('bad_signature', `${opts.what} signature does not verify for the key in keyid`);
  }
  return { ok: true, payload: decoded.payload, keyid, publicKey };
}

function refuse(reason: SingleSignerRefusal, message: string): OpenedEnvelope {
  return { ok: false, reason, message };
}
