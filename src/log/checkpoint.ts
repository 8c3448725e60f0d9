// C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the signed head of the log's Merkle tree.
import { fromBase64, toBase64 } from '../attest/bytes.ts';
import { hashLeaf, HASH_BYTES, verifyConsistency, verifyInclusion, type Hash, type ProofResult } from './merkle.ts';
import { signNote, verifyNote, type NoteFailure, type NoteSigner, type NoteVerifierKey, type Rejection } from './note.ts';

export interface Checkpoint {
  /** Identifies the log; proofboard uses its log key name. */
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Hash;
  /** Opaque, optional, non-empty lines after the root hash. */
  readonly extensions: readonly string[];
}

export type CheckpointFailure =
  | 'missing-final-newline'
  | 'too-few-lines'
  | 'empty-line'
  | 'bad-size'
  | 'bad-root-hash'
  | 'wrong-origin';

/** Formats the note text of a checkpoint (tlog-checkpoint "Note text"). */
export function formatCheckpoint(c: Checkpoint): string {
  if (c.origin.length === 0 || c.origin.includes('\n')) throw new RangeError('origin: must be one non-empty line');
  if (!Number.isSafeInteger(c.size) || c.size < 0) throw new RangeError(`size: not a tree size: ${c.size}`);
  if (c.rootHash.length !== HASH_BYTES) throw new RangeError(`rootHash: expected ${HASH_BYTES} bytes`);
  for (const e of c.extensions) {
    if (e.length === 0 || e.includes('\n')) throw new RangeError('extensions: each must be one non-empty line');
  }
  return [c.origin, String(c.size), toBase64(c.rootHash), ...c.extensions].map((l) => `${l}\n`).join('');
}

/**
 * Parses checkpoint note text strictly. Every rejected form is one a second parser could read differently, so
 * two clients could disagree on which tree a single signature commits to.
 */
export function parseCheckpoint(text: string): { ok: true; value: Checkpoint } | Rejection<CheckpointFailure> {
  if (!text.endsWith('\n')) return { ok: false, reason: 'missing-final-newline', detail: 'checkpoint must end with a newline' };
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) return { ok: false, reason: 'too-few-lines', detail: 'checkpoint needs origin, size and root hash' };
  if (lines.some((l) => l.length === 0)) return { ok: false, reason: 'empty-line', detail: 'checkpoint lines must be non-empty' };
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  // ASCII decimal without leading zeroes: "007" and "7" must not both name one tree size.
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) {
    return { ok: false, reason: 'bad-size', detail: 'tree size must be canonical decimal' };
  }
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) return { ok: false, reason: 'bad-size', detail: 'tree size exceeds 2^53 - 1' };
  let rootHash: Uint8Array;
  try {
    rootHash = fromBase64(rootText, 'root hash');
  } catch {
    return { ok: false, reason: 'bad-root-hash', detail: 'root hash is not canonical base64' };
  }
  if (rootHash.length !== HASH_BYTES) {
    return { ok: false, reason: 'bad-root-hash', detail: `root hash must be ${HASH_BYTES} bytes` };
  }
  return { ok: true, value: { origin, size, rootHash, extensions } };
}

/** Signs a checkpoint; the log key's name is expected to equal the origin (tlog-checkpoint "Signatures"). */
export function signCheckpoint(c: Checkpoint, signer: NoteSigner): string {
  return signNote(formatCheckpoint(c), signer);
}

/**
 * Verifies a signed checkpoint from `origin` against the log's key. Checking the origin stops a checkpoint of
 * another log signed by the same key (or a key of the same name) from standing in for this log's.
 */
export function verifyCheckpoint(
  note: string | Uint8Array,
  logKey: NoteVerifierKey,
  origin: string = logKey.name,
): { ok: true; checkpoint: Checkpoint } | Rejection<NoteFailure | CheckpointFailure> {
  const verified = verifyNote(note, [logKey]);
  if (!verified.ok) return verified;
  const parsed = parseCheckpoint(verified.note.text);
  if (!parsed.ok) return parsed;
  if (parsed.value.origin !== origin) {
    return { ok: false, reason: 'wrong-origin', detail: `checkpoint origin is not ${JSON.stringify(origin)}` };
  }
  return { ok: true, checkpoint: parsed.value };
}

/**
 * Verifies that the leaf with these exact bytes is entry `index` of the tree a verified checkpoint signs. Size and
 * root both come from the checkpoint: an inclusion proof alone does not always bind the tree size.
 */
export function verifyLeafInCheckpoint(
  leaf: { readonly data: Uint8Array; readonly index: number; readonly proof: readonly Hash[] },
  checkpoint: Checkpoint,
): ProofResult {
  return verifyInclusion({
    leafHash: hashLeaf(leaf.data),
    index: leaf.index,
    size: checkpoint.size,
    proof: leaf.proof,
    root: checkpoint.rootHash,
  });
}

/**
 * Verifies that checkpoint `newer` extends checkpoint `older` of the same log: nothing before `older.size` was
 * changed. Two checkpoints of one size with different roots (a split view) fail with 'root-mismatch'.
 */
export function verifyCheckpointConsistency(older: Checkpoint, newer: Checkpoint, proof: readonly Hash[]): ProofResult {
  return verifyConsistency({
    size1: older.size,
    size2: newer.size,
    root1: older.rootHash,
    root2: newer.rootHash,
    proof,
  });
}
