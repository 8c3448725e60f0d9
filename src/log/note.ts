// C2SP signed notes (https://c2sp.org/signed-note), Ed25519 signature type 0x01 only.
//
// Ed25519 goes through src/attest/ed25519.ts, the project's one wrapper over @noble/curves, with the verification
// mode pinned to 'strict' at each call below: RFC 8032 with canonical encodings, so a signature line cannot be
// mauled into a second accepted spelling. @noble/curves is imported here only to check vkey points, in the
// same strict mode.
import { createHash } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { concatBytes, equalBytes, fromBase64, toBase64, utf8 } from '../attest/bytes.ts';
import { ed25519PublicKey, signEd25519, verifyEd25519 } from '../attest/ed25519.ts';

/** Signature type identifier byte for Ed25519 (signed-note "Signature types"). */
export const SIGNATURE_TYPE_ED25519 = 0x01;

/** Big enough for 100 post-quantum-sized signatures; a checkpoint is a few hundred bytes. */
export const MAX_NOTE_BYTES = 1 << 20;
/** The spec requires accepting at least 16; more only costs parse time for a client (signed-note "Format"). */
export const MAX_NOTE_SIGNATURES = 100;

const SIGNATURE_PREFIX = '\u2014 '; // em dash, space

export interface NoteSignature {
  readonly name: string;
  /** uint32, the first four signature bytes read big-endian. */
  readonly keyId: number;
  /** The signature proper, without the key id. */
  readonly signature: Uint8Array;
}

export interface Note {
  /** Everything that was signed: ends with a newline, excludes the blank separator line. */
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

export type NoteFailure =
  | 'too-large'
  | 'not-utf8'
  | 'control-character'
  | 'no-signature-block'
  | 'malformed-signature-line'
  | 'bad-key-name'
  | 'bad-base64'
  | 'too-many-signatures'
  | 'malformed-key'
  | 'unsupported-signature-type'
  | 'key-id-mismatch'
  | 'ambiguous-key'
  | 'invalid-signature'
  | 'no-trusted-signature';

export type Rejection<R extends string> = { ok: false; reason: R; detail: string };
export type Parsed<T, R extends string = NoteFailure> = { ok: true; value: T } | Rejection<R>;

const reject = <R extends string>(reason: R, detail: string): Rejection<R> => ({ ok: false, reason, detail });

// ---------------------------------------------------------------------------------------------------------------
// Text checks shared by parsing and signing.

/** Key names: non-empty, no Unicode spaces, no '+' (it separates vkey fields) (signed-note "Format"). */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name) && !hasControlCharacter(name) && isWellFormedUtf16(name);
}

function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return true;
  }
  return false;
}

/** A lone surrogate has no UTF-8 encoding: the signed bytes would not be the text. */
function isWellFormedUtf16(s: string): boolean {
  return !/\p{Surrogate}/u.test(s);
}

function decodeNote(input: string | Uint8Array): Parsed<string> {
  // Size first, so the checks below never run over an unbounded input (denial of service).
  if (typeof input === 'string') {
    if (input.length > MAX_NOTE_BYTES) return reject('too-large', `note exceeds ${MAX_NOTE_BYTES} bytes`);
    if (!isWellFormedUtf16(input)) return reject('not-utf8', 'note contains a lone surrogate');
    if (Buffer.byteLength(input, 'utf8') > MAX_NOTE_BYTES) {
      return reject('too-large', `note exceeds ${MAX_NOTE_BYTES} bytes`);
    }
    return { ok: true, value: input };
  }
  if (input.length > MAX_NOTE_BYTES) return reject('too-large', `note exceeds ${MAX_NOTE_BYTES} bytes`);
  try {
    // ignoreBOM keeps a leading U+FEFF in the text, so the text re-encodes to exactly the bytes received.
    return { ok: true, value: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input) };
  } catch {
    return reject('not-utf8', 'note is not valid UTF-8');
  }
}

function decodeBase64(b64: string): Uint8Array | undefined {
  try {
    return fromBase64(b64, 'signature');
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Notes.

/** Parses a signed note without verifying anything. Its text MUST NOT be trusted until `verifyNote` passes. */
export function parseNote(input: string | Uint8Array): Parsed<Note> {
  const decoded = decodeNote(input);
  if (!decoded.ok) return decoded;
  const note = decoded.value;
  // Control characters could hide text from a human reviewer or split lines differently across parsers.
  if (hasControlCharacter(note)) return reject('control-character', 'note contains an ASCII control character');

  // The text is separated from the signatures by the last blank line; the text keeps its final newline.
  const split = note.lastIndexOf('\n\n');
  if (split < 0) return reject('no-signature-block', 'no blank line before the signatures');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (block.length === 0 || !block.endsWith('\n')) {
    return reject('no-signature-block', 'the signature block is empty or lacks its final newline');
  }

  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) {
    return reject('too-many-signatures', `more than ${MAX_NOTE_SIGNATURES} signature lines`);
  }
  const signatures: NoteSignature[] = [];
  for (const [i, line] of lines.entries()) {
    if (!line.startsWith(SIGNATURE_PREFIX)) {
      return reject('malformed-signature-line', `signature line ${i + 1} does not start with an em dash and space`);
    }
    const rest = line.slice(SIGNATURE_PREFIX.length);
    const space = rest.indexOf(' ');
    if (space < 0) return reject('malformed-signature-line', `signature line ${i + 1} has no signature`);
    const name = rest.slice(0, space);
    if (!isValidKeyName(name)) return reject('bad-key-name', `signature line ${i + 1} has an invalid key name`);
    const bytes = decodeBase64(rest.slice(space + 1));
    if (bytes === undefined) return reject('bad-base64', `signature line ${i + 1} is not canonical base64`);
    // Four bytes of key id and at least one of signature.
    if (bytes.length < 5) return reject('malformed-signature-line', `signature line ${i + 1} is too short`);
    const keyId = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, false);
    signatures.push({ name, keyId, signature: bytes.slice(4) });
  }
  return { ok: true, value: { text, signatures } };
}

export function formatSignatureLine(sig: NoteSignature): string {
  const id = new Uint8Array(4);
  new DataView(id.buffer).setUint32(0, sig.keyId, false);
  return `${SIGNATURE_PREFIX}${sig.name} ${toBase64(concatBytes(id, sig.signature))}\n`;
}

export function formatNote(note: Note): string {
  return `${note.text}\n${note.signatures.map(formatSignatureLine).join('')}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Keys.

/** An Ed25519 note verifier key. */
export interface NoteVerifierKey {
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: Uint8Array;
}

/** An Ed25519 note signer: `secretKey` is the 32-byte RFC 8032 seed. */
export interface NoteSigner extends NoteVerifierKey {
  readonly secretKey: Uint8Array;
}

/** key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4], big-endian (signed-note "Ed25519"). */
export function ed25519KeyId(name: string, publicKey: Uint8Array): number {
  const digest = createHash('sha256')
    .update(utf8(name))
    .update(new Uint8Array([0x0a, SIGNATURE_TYPE_ED25519]))
    .update(publicKey)
    .digest();
  return digest.readUInt32BE(0);
}

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');
const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

export function signerFromSeed(name: string, seed: Uint8Array): NoteSigner {
  if (!isValidKeyName(name)) throw new RangeError(`name: invalid key name ${JSON.stringify(name)}`);
  if (seed.length !== 32) throw new RangeError(`seed: expected 32 bytes, got ${seed.length}`);
  const publicKey = ed25519PublicKey(seed);
  return { name, keyId: ed25519KeyId(name, publicKey), publicKey, secretKey: seed.slice() };
}

/** `<name>+<hex key id>+<base64(0x01 || public key)>` (signed-note "Verifier keys"). */
export function formatVerifierKey(key: NoteVerifierKey): string {
  const material = concatBytes(new Uint8Array([SIGNATURE_TYPE_ED25519]), key.publicKey);
  return `${key.name}+${hex8(key.keyId)}+${toBase64(material)}`;
}

export type KeyFailure = 'malformed-key' | 'bad-key-name' | 'unsupported-signature-type' | 'key-id-mismatch';

/**
 * The fields shared by vkeys and skeys: `<name>+<hex id>+<base64>`; `key` is the public key or the seed. Names
 * have no '+', but base64 may, so only the first two '+' separate fields.
 */
export function parseKeyFields(
  fields: string,
  what: string,
  signatureType: number = SIGNATURE_TYPE_ED25519,
): Parsed<{ name: string; keyId: number; key: Uint8Array }, KeyFailure> {
  const first = fields.indexOf('+');
  const second = first < 0 ? -1 : fields.indexOf('+', first + 1);
  if (second < 0) return reject('malformed-key', `${what} must have three '+'-separated fields`);
  const name = fields.slice(0, first);
  const id = fields.slice(first + 1, second);
  const b64 = fields.slice(second + 1);
  if (!isValidKeyName(name)) return reject('bad-key-name', `${what} has an invalid key name`);
  if (!/^[0-9a-f]{8}$/.test(id)) return reject('malformed-key', `${what} key id must be 8 lowercase hex digits`);
  const material = decodeBase64(b64);
  if (material === undefined) return reject('malformed-key', `${what} key is not canonical base64`);
  if (material[0] !== signatureType) {
    return reject('unsupported-signature-type', `${what} is not a key of signature type 0x${hex2(signatureType)}`);
  }
  if (material.length !== 33) return reject('malformed-key', `${what} Ed25519 key must be 32 bytes`);
  return { ok: true, value: { name, keyId: Number.parseInt(id, 16), key: material.slice(1) } };
}

export function parseVerifierKey(vkey: string): Parsed<NoteVerifierKey, KeyFailure> {
  const parsed = parseKeyFields(vkey, 'vkey');
  if (!parsed.ok) return parsed;
  const { name, keyId, key: publicKey } = parsed.value;
  // A key that is not a canonical curve point can never verify (strict mode, as at the verify call): refuse it
  // here, where an operator configures it, instead of reporting every signature under it as invalid.
  if (!ed25519.utils.isValidPublicKey(publicKey, false)) return reject('malformed-key', 'vkey is not an Ed25519 point');
  // A key id that does not match the key would make signatures from this key unfindable, or match another's.
  if (ed25519KeyId(name, publicKey) !== keyId) return reject('key-id-mismatch', 'vkey key id does not match its key');
  return { ok: true, value: { name, keyId, publicKey } };
}

/** `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>`, the format of golang.org/x/mod/sumdb/note. */
export function formatSignerKey(signer: NoteSigner): string {
  const material = concatBytes(new Uint8Array([SIGNATURE_TYPE_ED25519]), signer.secretKey);
  return `PRIVATE+KEY+${signer.name}+${hex8(signer.keyId)}+${toBase64(material)}`;
}

export function parseSignerKey(skey: string): Parsed<NoteSigner, KeyFailure> {
  const prefix = 'PRIVATE+KEY+';
  if (!skey.startsWith(prefix)) return reject('malformed-key', `skey must start with ${prefix}`);
  const parsed = parseKeyFields(skey.slice(prefix.length), 'skey');
  if (!parsed.ok) return parsed;
  const signer = signerFromSeed(parsed.value.name, parsed.value.key);
  if (signer.keyId !== parsed.value.keyId) return reject('key-id-mismatch', 'skey key id does not match its key');
  return { ok: true, value: signer };
}

/** A fresh log key. `seed` is for tests and deterministic fixtures; omit it in production. */
export function generateSignerKey(name: string, seed?: Uint8Array): { signer: NoteSigner; skey: string; vkey: string } {
  const signer = signerFromSeed(name, seed ?? crypto.getRandomValues(new Uint8Array(32)));
  return { signer, skey: formatSignerKey(signer), vkey: formatVerifierKey(signer) };
}

// ---------------------------------------------------------------------------------------------------------------
// Signing and verifying.

/** Throws on text that no verifier could accept: a programming error, not untrusted input. */
function assertNoteText(text: string): void {
  if (!text.endsWith('\n')) throw new RangeError('text: a note text must end with a newline');
  if (hasControlCharacter(text) || !isWellFormedUtf16(text)) {
    throw new RangeError('text: a note text must be UTF-8 without control characters other than newline');
  }
}

/** Signs `text` and returns the whole note: text, blank line, one signature line. */
export function signNote(text: string, signer: NoteSigner, cosignatures: readonly NoteSignature[] = []): string {
  assertNoteText(text);
  const signature = signEd25519(utf8(text), signer.secretKey);
  return formatNote({ text, signatures: [{ name: signer.name, keyId: signer.keyId, signature }, ...cosignatures] });
}

export type VerifiedNote = { ok: true; note: Note; verifiedBy: readonly NoteVerifierKey[] };

/**
 * Verifies a note against trusted keys (signed-note "Signatures"): signatures from unknown keys (name and key
 * id not both matching) are ignored; any failing signature from a known key rejects the whole note; at least
 * one known key must have signed.
 */
export function verifyNote(input: string | Uint8Array, trusted: readonly NoteVerifierKey[]): VerifiedNote | Rejection<NoteFailure> {
  const parsed = parseNote(input);
  if (!parsed.ok) return parsed;
  const note = parsed.value;
  const message = utf8(note.text);

  const verifiedBy: NoteVerifierKey[] = [];
  for (const sig of note.signatures) {
    const candidates = trusted.filter((k) => k.name === sig.name && k.keyId === sig.keyId);
    if (candidates.length === 0) continue;
    // Two different trusted keys under one name and id: refuse rather than pick one (a colliding key
    // could otherwise be substituted for the intended one).
    if (candidates.some((k) => !equalBytes(k.publicKey, candidates[0]!.publicKey))) {
      return reject('ambiguous-key', `two trusted keys share the name and id ${sig.name}+${hex8(sig.keyId)}`);
    }
    const key = candidates[0]!;
    if (!verifyEd25519(sig.signature, message, key.publicKey, 'strict')) {
      return reject('invalid-signature', `signature by ${sig.name}+${hex8(sig.keyId)} does not verify`);
    }
    if (!verifiedBy.some((k) => k.name === key.name && k.keyId === key.keyId)) verifiedBy.push(key);
  }
  if (verifiedBy.length === 0) return reject('no-trusted-signature', 'no signature from a trusted key');
  return { ok: true, note, verifiedBy };
}
