// C2SP tlog-cosignature (https://c2sp.org/tlog-cosignature), the Ed25519 `cosignature/v1` type: a witness's
// timestamped statement that a checkpoint is the largest consistent tree it has seen for that log. Pure: no I/O.
//
// A cosignature is a signed-note signature line on the checkpoint, under a key id computed with algorithm byte 0x04
// ("Format"), whose bytes are `u64 timestamp || Ed25519 signature` over
// "cosignature/v1\ntime <timestamp>\n" || checkpoint text ("Ed25519 signed message"). Verification is strict RFC 8032
// (src/attest/ed25519.ts), as for the log's own signature (note.ts).
import { createHash } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { concatBytes, equalBytes, toBase64, utf8 } from '../attest/bytes.ts';
import { ed25519PublicKey, signEd25519, verifyEd25519 } from '../attest/ed25519.ts';
import { parseCheckpoint } from './checkpoint.ts';
import {
  isValidKeyName,
  parseKeyFields,
  parseNote,
  type KeyFailure,
  type NoteFailure,
  type NoteSignature,
  type NoteSigner,
  type Parsed,
  type Rejection,
} from './note.ts';

/** Signature type byte of Ed25519 cosignature/v1 keys (tlog-cosignature "Format"). */
export const SIGNATURE_TYPE_COSIGNATURE_V1 = 0x04;
/** "It MUST NOT exceed 2^63 - 1" (tlog-cosignature "Format"). */
export const MAX_COSIGNATURE_TIMESTAMP = 2n ** 63n - 1n;
const TIMESTAMPED_SIGNATURE_BYTES = 8 + 64;

/** A witness's Ed25519 public key, as a client pins it: the name and key id select its signature lines. */
export interface CosignerKey {
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: Uint8Array;
}

export interface Cosigner extends CosignerKey {
  readonly secretKey: Uint8Array;
}

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');

/** SHA-256(name || "\n" || 0x04 || 32-byte public key)[:4], big-endian (tlog-cosignature "Format"). */
export function cosignerKeyId(name: string, publicKey: Uint8Array): number {
  return createHash('sha256')
    .update(utf8(name))
    .update(new Uint8Array([0x0a, SIGNATURE_TYPE_COSIGNATURE_V1]))
    .update(publicKey)
    .digest()
    .readUInt32BE(0);
}

/**
 * The cosigner of a note signer's seed. A witness keeps its secret as an ordinary signed-note skey (type 0x01), as
 * transparency-dev's witnesses do; only the key id and the signed message differ. The spec requires a distinct key
 * per cosigner (the v1 message does not commit to the name), which the caller's key file gives.
 */
export function cosignerFromSeed(name: string, seed: Uint8Array): Cosigner {
  if (!isValidKeyName(name)) throw new RangeError(`name: invalid key name ${JSON.stringify(name)}`);
  if (seed.length !== 32) throw new RangeError(`seed: expected 32 bytes, got ${seed.length}`);
  const publicKey = ed25519PublicKey(seed);
  return { name, keyId: cosignerKeyId(name, publicKey), publicKey, secretKey: seed.slice() };
}

export function cosignerFromNoteSigner(signer: NoteSigner): Cosigner {
  return cosignerFromSeed(signer.name, signer.secretKey);
}

/** `<name>+<hex key id>+<base64(0x04 || public key)>`: the vkey a reader pins (`recheck --witness`). */
export function formatCosignerKey(key: CosignerKey): string {
  return `${key.name}+${hex8(key.keyId)}+${toBase64(concatBytes(new Uint8Array([SIGNATURE_TYPE_COSIGNATURE_V1]), key.publicKey))}`;
}

export function parseCosignerKey(vkey: string): Parsed<CosignerKey, KeyFailure> {
  const parsed = parseKeyFields(vkey, 'witness vkey', SIGNATURE_TYPE_COSIGNATURE_V1);
  if (!parsed.ok) return parsed;
  const { name, keyId, key: publicKey } = parsed.value;
  if (publicKey.length !== 32) return { ok: false, reason: 'malformed-key', detail: 'witness vkey must hold a 32-byte Ed25519 key' };
  // Refused where it is configured: a non-canonical point can never verify in strict mode.
  if (!ed25519.utils.isValidPublicKey(publicKey, false)) return { ok: false, reason: 'malformed-key', detail: 'witness vkey is not an Ed25519 point' };
  // A wrong id would make the witness's lines unfindable, or match another key's.
  if (cosignerKeyId(name, publicKey) !== keyId) return { ok: false, reason: 'key-id-mismatch', detail: 'witness vkey key id does not match its key' };
  return { ok: true, value: { name, keyId, publicKey } };
}

/** The signed message (tlog-cosignature "Ed25519 signed message"); `text` is the checkpoint's note text. */
export function cosignatureMessage(text: string, timestamp: number): Uint8Array {
  return utf8(`cosignature/v1\ntime ${timestamp}\n${text}`);
}

/** Cosigns checkpoint note text at `timestamp` (POSIX seconds, from the caller's clock). */
export function cosignCheckpoint(text: string, cosigner: Cosigner, timestamp: number): NoteSignature {
  // tlog-witness "add-checkpoint": the timestamp MUST NOT be zero; a safe integer keeps the decimal exact.
  if (!Number.isSafeInteger(timestamp) || timestamp <= 0) throw new RangeError(`timestamp: not a positive POSIX time: ${timestamp}`);
  const ts = new Uint8Array(8);
  new DataView(ts.buffer).setBigUint64(0, BigInt(timestamp), false);
  const signature = signEd25519(cosignatureMessage(text, timestamp), cosigner.secretKey);
  return { name: cosigner.name, keyId: cosigner.keyId, signature: concatBytes(ts, signature) };
}

export type CosignatureFailure = 'malformed-cosignature' | 'timestamp-too-large' | 'future-timestamp' | 'invalid-cosignature';

export type VerifiedCosignature = { key: CosignerKey; timestamp: number };

/** Verifies one signature line already matched to `key` by name and key id. */
export function verifyCosignature(
  text: string,
  sig: NoteSignature,
  key: CosignerKey,
  opts: { now?: Date; maxSkewSeconds?: number } = {},
): { ok: true; value: VerifiedCosignature } | Rejection<CosignatureFailure> {
  if (sig.signature.length !== TIMESTAMPED_SIGNATURE_BYTES) {
    return { ok: false, reason: 'malformed-cosignature', detail: `${key.name}: timestamped_signature must be ${TIMESTAMPED_SIGNATURE_BYTES} bytes` };
  }
  const view = new DataView(sig.signature.buffer, sig.signature.byteOffset, 8);
  const big = view.getBigUint64(0, false);
  if (big > MAX_COSIGNATURE_TIMESTAMP) return { ok: false, reason: 'timestamp-too-large', detail: `${key.name}: timestamp exceeds 2^63 - 1` };
  // Past 2^53 the decimal in the signed message could not be written exactly from a number; no real clock gets there.
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, reason: 'timestamp-too-large', detail: `${key.name}: timestamp beyond 2^53 - 1` };
  const timestamp = Number(big);
  // "verifiers MAY reject cosignatures with timestamps in the future": a witness that post-dates its statement
  // could make a stale checkpoint look fresh.
  if (opts.now && timestamp > Math.floor(opts.now.getTime() / 1000) + (opts.maxSkewSeconds ?? 600)) {
    return { ok: false, reason: 'future-timestamp', detail: `${key.name}: cosignature time ${timestamp} is in the future` };
  }
  if (!verifyEd25519(sig.signature.slice(8), cosignatureMessage(text, timestamp), key.publicKey, 'strict')) {
    return { ok: false, reason: 'invalid-cosignature', detail: `cosignature by ${key.name}+${hex8(key.keyId)} does not verify` };
  }
  return { ok: true, value: { key, timestamp } };
}

export type WitnessPolicy = { readonly witnesses: readonly CosignerKey[]; readonly needed: number };

export type WitnessCheck = {
  /** Distinct witnesses whose cosignature verified. */
  cosignedBy: readonly VerifiedCosignature[];
  /** Lines from a pinned witness that failed: proof that someone holds or forges its key, worth reporting. */
  invalid: readonly { name: string; reason: CosignatureFailure; detail: string }[];
};

/**
 * Counts the valid cosignatures from pinned witnesses on a signed checkpoint note and requires `needed` of them
 * (k of n). The log's own signature is checked by the caller (checkpoint.ts verifyCheckpoint); this only reads the
 * note's text and lines. Lines from unknown keys are ignored (tlog-witness: "The client MUST ignore any
 * cosignatures from unknown keys"). Each witness counts once however many lines it has, and two pinned names with
 * one public key are one witness: the quorum counts keys, so one key under two names cannot make a fork look
 * witnessed twice.
 */
export function verifyWitnessQuorum(
  note: string | Uint8Array,
  policy: WitnessPolicy,
  opts: { now?: Date; maxSkewSeconds?: number } = {},
): ({ ok: true } & WitnessCheck) | (Rejection<NoteFailure | 'not-a-checkpoint' | 'too-few-cosignatures'> & Partial<WitnessCheck>) {
  const parsed = parseNote(note);
  if (!parsed.ok) return parsed;
  const text = parsed.value.text;
  if (!parseCheckpoint(text).ok) return { ok: false, reason: 'not-a-checkpoint', detail: 'the cosigned note is not a checkpoint' };
  const cosignedBy: VerifiedCosignature[] = [];
  const invalid: { name: string; reason: CosignatureFailure; detail: string }[] = [];
  for (const sig of parsed.value.signatures) {
    const key = policy.witnesses.find((k) => k.name === sig.name && k.keyId === sig.keyId);
    if (!key) continue;
    const r = verifyCosignature(text, sig, key, opts);
    if (!r.ok) {
      invalid.push({ name: key.name, reason: r.reason, detail: r.detail });
      continue;
    }
    if (!cosignedBy.some((c) => equalBytes(c.key.publicKey, key.publicKey))) cosignedBy.push(r.value);
  }
  if (cosignedBy.length < policy.needed) {
    return {
      ok: false,
      reason: 'too-few-cosignatures',
      detail: `${cosignedBy.length} valid cosignature(s) from the ${policy.witnesses.length} pinned witness(es), ${policy.needed} needed`,
      cosignedBy,
      invalid,
    };
  }
  return { ok: true, cosignedBy, invalid };
}
