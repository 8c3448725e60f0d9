// C2SP tlog-cosignature and tlog-witness add-checkpoint over the pure library: spec vectors, k-of-n counting, and
// the witness's decision on honest, stale, forked and hostile requests.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signCheckpoint } from '../../src/log/checkpoint.ts';
import {
  cosignatureMessage,
  cosignCheckpoint,
  cosignerFromSeed,
  formatCosignerKey,
  parseCosignerKey,
  verifyWitnessQuorum,
  type CosignerKey,
} from '../../src/log/cosignature.ts';
import { consistencyProofFrom } from '../../src/log/merkle.ts';
import { MemoryTree } from '../../src/log/memory-tree.ts';
import { formatSignatureLine, generateSignerKey, parseNote, parseSignerKey, parseVerifierKey, type NoteVerifierKey } from '../../src/log/note.ts';
import {
  addCosignatures,
  decideAddCheckpoint,
  formatAddCheckpointRequest,
  parseAddCheckpointRequest,
  parseAddCheckpointResponse,
  type WitnessedCheckpoint,
} from '../../src/log/witness-protocol.ts';

const vectors = JSON.parse(readFileSync(new URL('../vectors/tlog-cosignature/vectors.json', import.meta.url), 'utf8'));

const must = <T>(r: { ok: true; value: T } | { ok: false; reason: string }): T => {
  if (!r.ok) throw new Error(r.reason);
  return r.value;
};

describe('tlog-cosignature vectors', () => {
  it('parses the spec example: key id, timestamp and signature length of the witness line', () => {
    const v = vectors.c2spExample;
    const note = must(parseNote(v.note));
    const line = note.signatures.find((s) => s.name === v.cosignerName)!;
    expect(line.keyId.toString(16).padStart(8, '0')).toBe(v.keyId);
    expect(line.signature.length).toBe(72);
    expect(Number(new DataView(line.signature.buffer, line.signature.byteOffset, 8).getBigUint64(0))).toBe(v.timestamp);
    expect(new TextDecoder().decode(cosignatureMessage(note.text, v.timestamp))).toBe(v.message);
  });

  it('reproduces the known-answer cosignature and vkey derived with an independent implementation', () => {
    const v = vectors.knownAnswer;
    const seed = must(parseSignerKey(v.seedSkey)).secretKey;
    const cosigner = cosignerFromSeed(v.name, seed);
    expect(formatCosignerKey(cosigner)).toBe(v.vkey);
    expect(formatSignatureLine(cosignCheckpoint(v.checkpoint, cosigner, v.timestamp))).toBe(v.signatureLine);
    const key = must(parseCosignerKey(v.vkey));
    const logNote = `${v.checkpoint}\n${v.signatureLine}`;
    const r = verifyWitnessQuorum(logNote, { witnesses: [key], needed: 1 });
    expect(r.ok && r.cosignedBy.map((c) => c.timestamp)).toEqual([v.timestamp]);
  });

  it('refuses a cosigner vkey of the wrong type, id or point', () => {
    const v = vectors.knownAnswer;
    expect(parseCosignerKey(v.vkey.replace('+BBpc', '+ARpc'))).toMatchObject({ ok: false, reason: 'unsupported-signature-type' });
    expect(parseCosignerKey(v.vkey.replace('cc9a7044', 'cc9a7045'))).toMatchObject({ ok: false, reason: 'key-id-mismatch' });
    // A note key (type 0x01) is not a cosigner key: the key id rule differs, so its lines would never match.
    expect(parseCosignerKey('PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW')).toMatchObject({ ok: false, reason: 'unsupported-signature-type' });
  });
});

// A log and three witnesses, all deterministic.
const ORIGIN = 'proofboard.test/log';
const log = generateSignerKey(ORIGIN, new Uint8Array(32).fill(9));
const logKey: NoteVerifierKey = must(parseVerifierKey(log.vkey));
const witnesses = [1, 2, 3].map((i) => cosignerFromSeed(`witness.test/w${i}`, new Uint8Array(32).fill(20 + i)));
const pins: CosignerKey[] = witnesses.map((w) => must(parseCosignerKey(formatCosignerKey(w))));
const logs = new Map([[ORIGIN, [logKey]]]);

function treeOf(n: number, tag = 'leaf'): MemoryTree {
  const t = new MemoryTree();
  for (let i = 0; i < n; i++) t.appendData(new TextEncoder().encode(`${tag} ${i}`));
  return t;
}
const noteOf = (t: MemoryTree) => signCheckpoint({ origin: ORIGIN, size: t.size, rootHash: t.root(), extensions: [] }, log.signer);

/** One witness with its state in a map, as the service keeps it. */
function witness(i = 0) {
  let latest: WitnessedCheckpoint | undefined;
  const now = new Date('2026-12-07T06:00:00Z');
  return {
    get latest() {
      return latest;
    },
    add(body: string) {
      const a = decideAddCheckpoint({ body, logs, latest: () => latest, cosigner: witnesses[i]!, now });
      if (a.status === 200) latest = a.record;
      return a;
    },
  };
}

async function request(older: MemoryTree | undefined, newer: MemoryTree): Promise<string> {
  const oldSize = older?.size ?? 0;
  const proof = oldSize === 0 ? [] : await consistencyProofFrom(newer, oldSize, newer.size);
  return formatAddCheckpointRequest({ oldSize, proof, note: noteOf(newer) });
}

describe('add-checkpoint decision (tlog-witness)', () => {
  it('cosigns a first checkpoint, then one that extends it, and the cosignature verifies', async () => {
    const w = witness();
    const t3 = treeOf(3);
    const first = w.add(await request(undefined, t3));
    expect(first.status).toBe(200);
    const t7 = treeOf(7);
    const second = w.add(await request(t3, t7));
    expect(second.status).toBe(200);
    const lines = must(parseAddCheckpointResponse(second.body));
    const cosigned = addCosignatures(noteOf(t7), lines);
    expect(verifyWitnessQuorum(cosigned, { witnesses: pins, needed: 1 }).ok).toBe(true);
    expect(w.latest?.size).toBe(7);
  });

  it('answers 409 with the size it holds when the old size is stale, and 404/403/400 for bad requests', async () => {
    const w = witness();
    const t5 = treeOf(5);
    expect(w.add(await request(undefined, t5)).status).toBe(200);
    const stale = w.add(await request(undefined, treeOf(6)));
    expect(stale).toEqual({ status: 409, body: '5\n', contentType: 'text/x.tlog.size' });
    const other = generateSignerKey('other.test/log', new Uint8Array(32).fill(3));
    const foreign = signCheckpoint({ origin: 'other.test/log', size: 1, rootHash: treeOf(1).root(), extensions: [] }, other.signer);
    expect(w.add(formatAddCheckpointRequest({ oldSize: 0, proof: [], note: foreign })).status).toBe(404);
    const impostor = generateSignerKey(ORIGIN, new Uint8Array(32).fill(4));
    const forged = signCheckpoint({ origin: ORIGIN, size: 9, rootHash: treeOf(9).root(), extensions: [] }, impostor.signer);
    expect(w.add(formatAddCheckpointRequest({ oldSize: 5, proof: [], note: forged })).status).toBe(403);
    expect(w.add(`old 05\n\n${noteOf(t5)}`).status).toBe(400);
    expect(w.add(formatAddCheckpointRequest({ oldSize: 9, proof: [], note: noteOf(t5) })).status).toBe(400);
    expect(w.latest?.size).toBe(5);
  });

  it('never cosigns a fork: another tree of the same size, or a tree that does not extend the one it holds', async () => {
    const w = witness();
    const honest = treeOf(4);
    expect(w.add(await request(undefined, honest)).status).toBe(200);
    const fork = treeOf(4, 'forked');
    expect(w.add(formatAddCheckpointRequest({ oldSize: 4, proof: [], note: noteOf(fork) })).status).toBe(422);
    const forkLonger = treeOf(8, 'forked');
    // The forked log proves consistency from its own size-4 tree: that proof does not reach the honest root.
    expect(w.add(await request(fork, forkLonger)).status).toBe(422);
    expect(w.add(formatAddCheckpointRequest({ oldSize: 0, proof: [], note: noteOf(new MemoryTree()) })).status).toBe(409);
    expect(w.latest?.size).toBe(4);
    expect(w.add(await request(honest, treeOf(8))).status).toBe(200);
  });

  it('k of n: a note with fewer valid cosignatures than needed is refused; duplicates and unknown keys do not count', async () => {
    const t = treeOf(2);
    const note = noteOf(t);
    const text = must(parseNote(note)).text;
    const sig = (i: number) => cosignCheckpoint(text, witnesses[i]!, 1_800_000_000);
    const one = addCosignatures(note, [sig(0)]);
    expect(verifyWitnessQuorum(one, { witnesses: pins, needed: 2 })).toMatchObject({ ok: false, reason: 'too-few-cosignatures' });
    const two = addCosignatures(note, [sig(0), sig(1)]);
    expect(verifyWitnessQuorum(two, { witnesses: pins, needed: 2 }).ok).toBe(true);
    // The same key pinned under a second name is still one witness.
    const alias = cosignerFromSeed('witness.test/alias', new Uint8Array(32).fill(21));
    const aliased = addCosignatures(note, [sig(0), cosignCheckpoint(text, alias, 1_800_000_000)]);
    const withAlias = [...pins, must(parseCosignerKey(formatCosignerKey(alias)))];
    expect(verifyWitnessQuorum(aliased, { witnesses: withAlias, needed: 2 })).toMatchObject({ ok: false, reason: 'too-few-cosignatures' });
    // A cosignature of another tree moved onto this note does not verify.
    const moved = addCosignatures(note, [sig(0), cosignCheckpoint(must(parseNote(noteOf(treeOf(3)))).text, witnesses[1]!, 1_800_000_000)]);
    const r = verifyWitnessQuorum(moved, { witnesses: pins, needed: 2 });
    expect(r).toMatchObject({ ok: false, reason: 'too-few-cosignatures' });
    expect(r.invalid?.map((i) => i.reason)).toEqual(['invalid-cosignature']);
    // A timestamp in the future is refused when the reader gives its clock.
    const future = addCosignatures(note, [sig(0)]);
    expect(verifyWitnessQuorum(future, { witnesses: pins, needed: 1 }, { now: new Date('2020-01-01T00:00:00Z') }).ok).toBe(false);
  });

  it('hostile request bodies get 400, never an exception', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (body) => {
        const a = witness().add(body);
        expect([400, 403, 404, 409, 422]).toContain(a.status);
      }),
    );
    expect(parseAddCheckpointRequest(`old 0\n${'AAAA\n'.repeat(64)}\nx`).ok).toBe(false);
  });
});
