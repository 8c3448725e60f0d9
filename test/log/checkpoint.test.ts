// C2SP tlog-checkpoint: vectors, strict parsing, signing, and a log's life end to end over the pure library.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatCheckpoint,
  parseCheckpoint,
  signCheckpoint,
  verifyCheckpoint,
  verifyCheckpointConsistency,
  verifyLeafInCheckpoint,
  type Checkpoint,
} from '../../src/log/checkpoint.ts';
import { consistencyProofFrom, EMPTY_ROOT, hashLeaf, inclusionProofFrom, verifyConsistency, verifyInclusion } from '../../src/log/merkle.ts';
import { MemoryTree } from '../../src/log/memory-tree.ts';
import { generateSignerKey, parseNote, parseVerifierKey, type NoteVerifierKey } from '../../src/log/note.ts';

const vectors = JSON.parse(readFileSync(new URL('../vectors/signed-note/vectors.json', import.meta.url), 'utf8'));

const ORIGIN = 'proofboard.example/log';
const { signer, vkey } = generateSignerKey(ORIGIN, new Uint8Array(32).fill(1));
const logKey = ((): NoteVerifierKey => {
  const r = parseVerifierKey(vkey);
  if (!r.ok) throw new Error(r.reason);
  return r.value;
})();
const root = hashLeaf(new TextEncoder().encode('hello world'));

describe('checkpoint vectors', () => {
  it('parses the C2SP tlog-checkpoint example', () => {
    const note = parseNote(vectors.c2spCheckpoint.note);
    if (!note.ok) throw new Error(note.reason);
    const r = parseCheckpoint(note.value.text);
    expect(r.ok && { ...r.value, rootHash: Buffer.from(r.value.rootHash).toString('base64') }).toEqual({
      origin: 'example.com/behind-the-sofa',
      size: 20852163,
      rootHash: 'CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=',
      extensions: [],
    });
  });

  it('formats and parses the Go sumdb tree head text', () => {
    const text = vectors.goCheckpointText.good;
    const c: Checkpoint = { origin: 'go.sum database tree', size: 123456789012, rootHash: root, extensions: [] };
    expect(formatCheckpoint(c)).toBe(text);
    expect(parseCheckpoint(text)).toEqual({ ok: true, value: c });
    expect(parseCheckpoint(vectors.goCheckpointText.bad[0])).toMatchObject({ ok: false, reason: 'bad-size' });
    expect(parseCheckpoint(vectors.goCheckpointText.bad[1])).toMatchObject({ ok: false, reason: 'bad-root-hash' });
  });
});

// 32 bytes of base64 end in one '=': the character before it carries two unused bits, which must be zero.
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const withLowBitFlipped = (c: string): string => ALPHABET[ALPHABET.indexOf(c) ^ 1]!;

describe('parseCheckpoint is strict', () => {
  const good = formatCheckpoint({ origin: ORIGIN, size: 7, rootHash: root, extensions: [] });
  const rootB64 = Buffer.from(root).toString('base64');
  const cases: [string, string, string][] = [
    ['no final newline', good.slice(0, -1), 'missing-final-newline'],
    ['two lines', `${ORIGIN}\n7\n`, 'too-few-lines'],
    ['empty origin', `\n7\n${rootB64}\n`, 'empty-line'],
    ['empty extension line', `${good}\n`, 'empty-line'],
    ['leading zero', `${ORIGIN}\n07\n${rootB64}\n`, 'bad-size'],
    ['plus sign', `${ORIGIN}\n+7\n${rootB64}\n`, 'bad-size'],
    ['negative', `${ORIGIN}\n-7\n${rootB64}\n`, 'bad-size'],
    ['space', `${ORIGIN}\n 7\n${rootB64}\n`, 'bad-size'],
    ['exponent', `${ORIGIN}\n7e3\n${rootB64}\n`, 'bad-size'],
    ['non-ASCII digit', `${ORIGIN}\n٧\n${rootB64}\n`, 'bad-size'],
    ['above 2^53', `${ORIGIN}\n9007199254740993\n${rootB64}\n`, 'bad-size'],
    ['no padding', `${ORIGIN}\n7\n${rootB64.slice(0, -1)}\n`, 'bad-root-hash'],
    ['url alphabet', `${ORIGIN}\n7\n${rootB64.replace(/\+/g, '-').replace(/\//g, '_').replace(/^./, '-')}\n`, 'bad-root-hash'],
    ['31 bytes', `${ORIGIN}\n7\n${Buffer.from(root.slice(1)).toString('base64')}\n`, 'bad-root-hash'],
    ['33 bytes', `${ORIGIN}\n7\n${Buffer.from([...root, 0]).toString('base64')}\n`, 'bad-root-hash'],
    ['padding bits set', `${ORIGIN}\n7\n${rootB64.slice(0, -2)}${withLowBitFlipped(rootB64.at(-2)!)}=\n`, 'bad-root-hash'],
  ];
  for (const [name, text, reason] of cases) {
    it(`rejects ${name}`, () => expect(parseCheckpoint(text)).toMatchObject({ ok: false, reason }));
  }
  it('accepts size 0 and extension lines', () => {
    const c: Checkpoint = { origin: ORIGIN, size: 0, rootHash: EMPTY_ROOT, extensions: ['ext one', 'ext two'] };
    expect(parseCheckpoint(formatCheckpoint(c))).toEqual({ ok: true, value: c });
  });
  it('formatCheckpoint refuses what parseCheckpoint would reject', () => {
    const c: Checkpoint = { origin: ORIGIN, size: 1, rootHash: root, extensions: [] };
    expect(() => formatCheckpoint({ ...c, origin: '' })).toThrow(RangeError);
    expect(() => formatCheckpoint({ ...c, size: 1.5 })).toThrow(RangeError);
    expect(() => formatCheckpoint({ ...c, rootHash: root.slice(1) })).toThrow(RangeError);
    expect(() => formatCheckpoint({ ...c, extensions: [''] })).toThrow(RangeError);
  });
});

const checkpointArb = fc.record({
  origin: fc.stringMatching(/^[a-zA-Z0-9./ +_\-é]{1,40}$/),
  size: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER), fc.constant(0)),
  rootHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  extensions: fc.array(fc.stringMatching(/^[ -~]{1,20}$/), { maxLength: 3 }),
});

describe('signed checkpoints', () => {
  it('round trip: format, parse, sign, verify', () => {
    fc.assert(
      fc.property(checkpointArb, (c) => {
        expect(parseCheckpoint(formatCheckpoint(c))).toEqual({ ok: true, value: c });
        const r = verifyCheckpoint(signCheckpoint(c, signer), logKey, c.origin);
        expect(r).toEqual({ ok: true, checkpoint: c });
      }),
      { numRuns: 200 },
    );
  });

  it('rejects another origin, another key, and an edited checkpoint', () => {
    const c: Checkpoint = { origin: ORIGIN, size: 10, rootHash: root, extensions: [] };
    const note = signCheckpoint(c, signer);
    expect(verifyCheckpoint(note, logKey).ok).toBe(true);
    const otherLog = signCheckpoint({ ...c, origin: 'other.example/log' }, signer);
    expect(verifyCheckpoint(otherLog, logKey)).toMatchObject({ ok: false, reason: 'wrong-origin' });
    const other = generateSignerKey(ORIGIN, new Uint8Array(32).fill(2));
    expect(verifyCheckpoint(signCheckpoint(c, other.signer), logKey)).toMatchObject({ ok: false, reason: 'no-trusted-signature' });
    expect(verifyCheckpoint(note.replace('\n10\n', '\n11\n'), logKey)).toMatchObject({ ok: false, reason: 'invalid-signature' });
  });

  it('a signed note whose text is not a checkpoint is rejected after the signature check', () => {
    const { signer: s } = generateSignerKey(ORIGIN, new Uint8Array(32).fill(1));
    const note = signCheckpoint({ origin: ORIGIN, size: 1, rootHash: root, extensions: [] }, s).replace(/^[^\n]*\n/, '');
    expect(verifyCheckpoint(note, logKey).ok).toBe(false);
  });

  it('mutated checkpoint notes never throw and never verify as a different checkpoint', () => {
    const c: Checkpoint = { origin: ORIGIN, size: 123, rootHash: root, extensions: [] };
    const good = signCheckpoint(c, signer);
    const ch = fc.constantFrom('\n', '0', '1', ' ', '+', '=', '/', 'A', '—', '\x00', '\ud800');
    const edit = fc.record({ at: fc.nat(), del: fc.nat({ max: 2 }), ins: fc.string({ unit: ch, maxLength: 3 }) });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (edits) => {
        let note = good;
        for (const { at, del, ins } of edits) {
          const i = at % (note.length + 1);
          note = note.slice(0, i) + ins + note.slice(i + del);
        }
        const r = verifyCheckpoint(note, logKey);
        if (r.ok) expect(r.checkpoint).toEqual(c);
      }),
      { numRuns: 2000 },
    );
  });

  it('arbitrary text never throws', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(typeof parseCheckpoint(text).ok).toBe('boolean');
        expect(verifyCheckpoint(text, logKey).ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('a log over its life, as a third party checks it', () => {
  it('inclusion against signed checkpoints, consistency between them, and a split view caught', async () => {
    const log = new MemoryTree();
    const seen: string[] = [];
    let previous: Checkpoint = { origin: ORIGIN, size: 0, rootHash: EMPTY_ROOT, extensions: [] };
    for (const batch of [1, 2, 5, 9, 16, 3]) {
      for (let i = 0; i < batch; i++) log.appendData(new TextEncoder().encode(`verdict ${log.size}`));
      const note = signCheckpoint({ origin: ORIGIN, size: log.size, rootHash: log.root(), extensions: [] }, signer);
      seen.push(note);

      // The client: verify the checkpoint, then consistency with the last one it kept.
      const cp = verifyCheckpoint(note, logKey);
      if (!cp.ok) throw new Error(cp.reason);
      const proof = await consistencyProofFrom(log, previous.size, cp.checkpoint.size);
      expect(verifyCheckpointConsistency(previous, cp.checkpoint, proof)).toEqual({ ok: true });
      for (const index of [0, Math.floor(log.size / 2), log.size - 1]) {
        const data = new TextEncoder().encode(`verdict ${index}`);
        const path = await inclusionProofFrom(log, index, cp.checkpoint.size);
        expect(verifyLeafInCheckpoint({ data, index, proof: path }, cp.checkpoint)).toEqual({ ok: true });
        const other = new TextEncoder().encode(`verdict ${index}, edited`);
        expect(verifyLeafInCheckpoint({ data: other, index, proof: path }, cp.checkpoint).ok).toBe(false);
      }
      previous = cp.checkpoint;
    }

    // The server rewrites one verdict and re-signs: a second checkpoint of the same size with another root.
    const forked = new MemoryTree();
    for (let i = 0; i < log.size; i++) forked.appendData(new TextEncoder().encode(i === 3 ? 'verdict 3, edited' : `verdict ${i}`));
    const forkedNote = signCheckpoint({ origin: ORIGIN, size: forked.size, rootHash: forked.root(), extensions: [] }, signer);
    const f = verifyCheckpoint(forkedNote, logKey);
    if (!f.ok) throw new Error(f.reason);
    expect(f.checkpoint.size).toBe(previous.size);
    expect(verifyCheckpointConsistency(previous, f.checkpoint, [])).toEqual({ ok: false, reason: 'root-mismatch' });
    // Growing the forked tree does not help: no consistency proof links the honest checkpoint to it.
    forked.appendData(new Uint8Array([1]));
    const proof = await consistencyProofFrom(forked, previous.size, forked.size);
    expect(verifyConsistency({ size1: previous.size, size2: forked.size, root1: previous.rootHash, root2: forked.root(), proof }).ok).toBe(false);
    // And the edited leaf's original text is no longer included under the forked root.
    const leafHash = hashLeaf(new TextEncoder().encode('verdict 3'));
    const path = await inclusionProofFrom(forked, 3, forked.size);
    expect(verifyInclusion({ leafHash, index: 3, size: forked.size, proof: path, root: forked.root() }).ok).toBe(false);
  });
});

describe('docs/transparency-log.md', () => {
  it('its example checkpoint verifies and matches the tree of "verdict 0" … "verdict 41"', () => {
    const doc = readFileSync(new URL('../../docs/transparency-log.md', import.meta.url), 'utf8');
    const note = `${/```\n(proofboard\.example\/log\n42\n[\s\S]*?\n)```/.exec(doc)![1]}`;
    const key = parseVerifierKey(/`(proofboard\.example\/log\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+)`/.exec(doc)![1]!);
    if (!key.ok) throw new Error(key.reason);
    expect(key.value).toEqual(logKey);
    const log = new MemoryTree();
    for (let i = 0; i < 42; i++) log.appendData(new TextEncoder().encode(`verdict ${i}`));
    expect(verifyCheckpoint(note, key.value)).toEqual({
      ok: true,
      checkpoint: { origin: ORIGIN, size: 42, rootHash: log.root(), extensions: [] },
    });
  });
});
