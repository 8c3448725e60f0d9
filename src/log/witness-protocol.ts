// C2SP tlog-witness (https://c2sp.org/tlog-witness), "add-checkpoint": the request and response formats and the
// witness's decision, as pure functions. The witness service (src/witness/) holds the state and the lock; this
// decides, from the request, the trusted log keys and the latest checkpoint the witness cosigned for the origin,
// what to answer and what to record. Pure: no I/O, the time is a parameter.
import { fromBase64, toBase64 } from '../attest/bytes.ts';
import { parseCheckpoint, verifyCheckpoint, verifyCheckpointConsistency, type Checkpoint } from './checkpoint.ts';
import { cosignCheckpoint, type Cosigner } from './cosignature.ts';
import { EMPTY_ROOT, HASH_BYTES, type Hash } from './merkle.ts';
import { formatSignatureLine, MAX_NOTE_BYTES, parseNote, type NoteSignature, type NoteVerifierKey, type Rejection } from './note.ts';

/** "The client MUST NOT send more than 63 consistency proof lines" (tlog-witness "add-checkpoint"). */
export const MAX_PROOF_LINES = 63;
/** The checkpoint note, 63 proof lines of base64 hashes and the old size line. */
export const MAX_ADD_CHECKPOINT_BYTES = MAX_NOTE_BYTES + 64 * 64 + 64;
/** Content type of a 409's body (tlog-witness "add-checkpoint"). */
export const TLOG_SIZE_CONTENT_TYPE = 'text/x.tlog.size';

export type AddCheckpointRequest = { oldSize: number; proof: Hash[]; note: string };

/** What the witness last cosigned for one log; the one record a witness keeps per origin. */
export type WitnessedCheckpoint = { size: number; rootHash: Hash; note: string };

const DECIMAL = /^(0|[1-9][0-9]*)$/;

export function formatAddCheckpointRequest(req: AddCheckpointRequest): string {
  return `old ${req.oldSize}\n${req.proof.map((h) => `${toBase64(h)}\n`).join('')}\n${req.note}`;
}

export function parseAddCheckpointRequest(body: string): { ok: true; value: AddCheckpointRequest } | Rejection<'bad-request'> {
  const bad = (detail: string): Rejection<'bad-request'> => ({ ok: false, reason: 'bad-request', detail });
  if (body.length > MAX_ADD_CHECKPOINT_BYTES) return bad('request body too large');
  const blank = body.indexOf('\n\n');
  if (blank < 0) return bad('no empty line before the checkpoint');
  const head = body.slice(0, blank).split('\n');
  const note = body.slice(blank + 2);
  const oldLine = head[0]!;
  if (!oldLine.startsWith('old ') || !DECIMAL.test(oldLine.slice(4))) return bad('the first line must be "old <size>" in canonical decimal');
  const oldSize = Number(oldLine.slice(4));
  if (!Number.isSafeInteger(oldSize)) return bad('old size exceeds 2^53 - 1');
  const lines = head.slice(1);
  if (lines.length > MAX_PROOF_LINES) return bad(`more than ${MAX_PROOF_LINES} consistency proof lines`);
  const proof: Hash[] = [];
  for (const [i, line] of lines.entries()) {
    let hash: Uint8Array;
    try {
      hash = fromBase64(line, 'proof line');
    } catch {
      return bad(`proof line ${i + 1} is not canonical base64`);
    }
    if (hash.length !== HASH_BYTES) return bad(`proof line ${i + 1} is not a ${HASH_BYTES}-byte hash`);
    proof.push(hash);
  }
  return { ok: true, value: { oldSize, proof, note } };
}

export type WitnessAnswer =
  | { status: 200; body: string; record: WitnessedCheckpoint; origin: string }
  | { status: 400 | 403 | 404 | 422; body: string }
  | { status: 409; body: string; contentType: typeof TLOG_SIZE_CONTENT_TYPE };

/**
 * The witness's decision on one add-checkpoint request, in the order of the spec's checks. `latest` is what this
 * witness last cosigned for the request's origin (undefined: never). The caller must hold the per-origin lock
 * from reading `latest` to persisting `record`, or two requests could both pass against one old size and the
 * second would roll the first back (the race the spec spells out).
 */
export function decideAddCheckpoint(input: {
  body: string;
  logs: ReadonlyMap<string, readonly NoteVerifierKey[]>;
  latest: (origin: string) => WitnessedCheckpoint | undefined;
  cosigner: Cosigner;
  now: Date;
}): WitnessAnswer {
  const req = parseAddCheckpointRequest(input.body);
  if (!req.ok) return { status: 400, body: `${req.detail}\n` };
  const { oldSize, proof, note } = req.value;
  const parsed = parseNote(note);
  if (!parsed.ok) return { status: 400, body: `checkpoint: ${parsed.detail}\n` };
  const text = parseCheckpoint(parsed.value.text);
  if (!text.ok) return { status: 400, body: `checkpoint: ${text.detail}\n` };
  const origin = text.value.origin;
  const keys = input.logs.get(origin);
  if (!keys) return { status: 404, body: `unknown log origin ${JSON.stringify(origin)}\n` };

  // The log's signature: with a bad or missing one anybody could make the witness cosign any tree.
  let checkpoint: Checkpoint | undefined;
  for (const key of keys) {
    const v = verifyCheckpoint(note, key, origin);
    if (v.ok) checkpoint = v.checkpoint;
    else if (v.reason === 'invalid-signature') return { status: 403, body: 'a signature from the log key does not verify\n' };
  }
  if (!checkpoint) return { status: 403, body: 'no signature from a trusted log key\n' };

  if (oldSize > checkpoint.size) return { status: 400, body: `old size ${oldSize} exceeds the checkpoint size ${checkpoint.size}\n` };
  const latest = input.latest(origin);
  const latestSize = latest?.size ?? 0;
  // Compare-and-swap on the size: the client proves consistency from exactly what this witness holds.
  if (oldSize !== latestSize) return { status: 409, body: `${latestSize}\n`, contentType: TLOG_SIZE_CONTENT_TYPE };
  if (checkpoint.size === 0 && !sameHash(checkpoint.rootHash, EMPTY_ROOT)) {
    return { status: 422, body: 'a checkpoint of size 0 must have the empty root\n' };
  }
  if (!latest) {
    if (proof.length > 0) return { status: 422, body: 'old size 0 takes an empty consistency proof\n' };
  } else if (latest.size === checkpoint.size) {
    // The promise a witness keeps: never two different trees of one size.
    if (!sameHash(latest.rootHash, checkpoint.rootHash)) return { status: 422, body: `a different tree of size ${checkpoint.size} was cosigned before\n` };
    if (proof.length > 0) return { status: 422, body: 'a checkpoint of the old size takes an empty consistency proof\n' };
  } else {
    const r = verifyCheckpointConsistency({ ...checkpoint, size: latest.size, rootHash: latest.rootHash }, checkpoint, proof);
    if (!r.ok) return { status: 422, body: `the consistency proof from size ${latest.size} does not verify (${r.reason})\n` };
  }

  const timestamp = Math.floor(input.now.getTime() / 1000);
  const cosignature = cosignCheckpoint(parsed.value.text, input.cosigner, timestamp);
  return {
    status: 200,
    body: formatSignatureLine(cosignature),
    origin,
    record: { size: checkpoint.size, rootHash: checkpoint.rootHash, note: `${note}${formatSignatureLine(cosignature)}` },
  };
}

function sameHash(a: Hash, b: Hash): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Parses a 200 body: one or more signature lines (tlog-witness "add-checkpoint"). */
export function parseAddCheckpointResponse(body: string): { ok: true; value: NoteSignature[] } | Rejection<'bad-response'> {
  // Re-use the note parser on a stand-in note, so the lines obey exactly the signed-note grammar.
  const parsed = parseNote(`x\n\n${body}`);
  if (!parsed.ok) return { ok: false, reason: 'bad-response', detail: parsed.detail };
  return { ok: true, value: [...parsed.value.signatures] };
}

/**
 * Adds cosignature lines to a signed checkpoint note, replacing earlier lines of the same name and key id (a
 * witness asked again gives a fresh timestamp; one line per witness keeps notes small).
 */
export function addCosignatures(note: string, lines: readonly NoteSignature[]): string {
  const parsed = parseNote(note);
  if (!parsed.ok) throw new Error(`addCosignatures: not a note: ${parsed.detail}`);
  const kept = parsed.value.signatures.filter((s) => !lines.some((l) => l.name === s.name && l.keyId === s.keyId));
  return `${parsed.value.text}\n${[...kept, ...lines].map(formatSignatureLine).join('')}`;
}
