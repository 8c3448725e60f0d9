// DSSE v1 envelopes (https://github.com/secure-systems-lab/dsse/blob/master/protocol.md, envelope.md).
// Signatures cover PAE(payloadType, payload), never re-serialised JSON, and the payload type separates domains:
// a claim signature can never be replayed as an attestation or the other way round.
import { z } from 'zod';
import { concatBytes, fromBase64, toBase64, utf8, EncodingError } from './bytes.ts';
import { signEd25519, verifyEd25519, type Ed25519Mode } from './ed25519.ts';

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

export { EncodingError };
