// C2SP signed notes: published vectors, round trips and hostile input.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ed25519KeyId,
  formatSignerKey,
  formatVerifierKey,
  generateSignerKey,
  MAX_NOTE_SIGNATURES,
  parseNote,
  parseSignerKey,
  parseVerifierKey,
  signerFromSeed,
  signNote,
  verifyNote,
  type NoteVerifierKey,
} from '../../src/log/note.ts';

const vectors = JSON.parse(readFileSync(new URL('../vectors/signed-note/vectors.json', import.meta.url), 'utf8'));
const go = vectors.goNote;

function vkey(text: string): NoteVerifierKey {
  const r = parseVerifierKey(text);
  if (!r.ok) throw new Error(`${text}: ${r.reason}`);
  return r.value;
}

const peter = vkey(go.vkey);
const enoch = vkey(go.otherVkey);
const goNote = `${go.text}\n${go.signatureLine}`;

describe('C2SP signed-note vectors', () => {
  it('verifies the spec example with its vkey', () => {
    const key = vkey(vectors.c2spExample.vkey);
    expect(key.keyId).toBe(0x530d903a);
    expect(ed25519KeyId(key.name, key.publicKey)).toBe(0x530d903a);
    expect(formatVerifierKey(key)).toBe(vectors.c2spExample.vkey);
    const r = verifyNote(vectors.c2spExample.note, [key]);
    expect(r.ok && r.note.text).toBe('This is an example message.\n');
  });

  it('parses the tlog-checkpoint example note', () => {
    const r = parseNote(vectors.c2spCheckpoint.note);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.text).toBe('example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n');
    expect(r.value.signatures.map((s) => [s.name, s.signature.length])).toEqual([['example.com/behind-the-sofa', 64]]);
  });
});

describe('golang.org/x/mod/sumdb/note vectors', () => {
  it('reads the skey and derives the published vkey', () => {
    const r = parseSignerKey(go.skey);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(formatVerifierKey(r.value)).toBe(go.vkey);
    expect(formatSignerKey(r.value)).toBe(go.skey);
  });

  it('signs byte for byte like the reference implementation (Ed25519 is deterministic)', () => {
    const r = parseSignerKey(go.skey);
    if (!r.ok) throw new Error(r.reason);
    expect(signNote(go.text, r.value)).toBe(goNote);
  });

  it('verifies with one trusted key and ignores the unknown signature', () => {
    const both = `${go.text}\n${go.signatureLine}${go.otherSignatureLine}`;
    const one = verifyNote(both, [peter]);
    expect(one.ok && one.verifiedBy.map((k) => k.name)).toEqual(['PeterNeumann']);
    const two = verifyNote(both, [peter, enoch]);
    expect(two.ok && two.verifiedBy.map((k) => k.name)).toEqual(['PeterNeumann', 'EnochRoot']);
    expect(verifyNote(both, [])).toMatchObject({ ok: false, reason: 'no-trusted-signature' });
    expect(verifyNote(goNote, [enoch])).toMatchObject({ ok: false, reason: 'no-trusted-signature' });
  });

  it('rejects the whole note when a known key signature fails', () => {
    const line: string = go.signatureLine;
    const bad = `${go.text}\n${line.slice(0, 60)}ABCD${line.slice(60)}`;
    expect(verifyNote(bad, [peter])).toMatchObject({ ok: false, reason: 'invalid-signature' });
    const otherText = `${go.text.replace('cryptography', 'blockchain')}\n${line}`;
    expect(verifyNote(otherText, [peter])).toMatchObject({ ok: false, reason: 'invalid-signature' });
  });

  it('ignores a signature whose name or key id (not both) matches a trusted key', () => {
    const renamed = goNote.replace('— PeterNeumann', '— CarmenSandiego');
    expect(verifyNote(renamed, [peter])).toMatchObject({ ok: false, reason: 'no-trusted-signature' });
    const otherId = { ...peter, keyId: peter.keyId ^ 1 };
    expect(verifyNote(goNote, [otherId])).toMatchObject({ ok: false, reason: 'no-trusted-signature' });
  });

  it('refuses two different trusted keys with one name and key id', () => {
    const impostor = { ...peter, publicKey: enoch.publicKey };
    expect(verifyNote(goNote, [peter, impostor])).toMatchObject({ ok: false, reason: 'ambiguous-key' });
    expect(verifyNote(goNote, [peter, { ...peter }]).ok).toBe(true);
  });

  it('rejects the malformed notes of TestOpen', () => {
    const line: string = go.signatureLine;
    const bad: (string | Uint8Array)[] = [
      go.text,
      `${go.text}\n`,
      `${go.text}\n${line.slice(0, -1)}`,
      `\x01${go.text}\n${line}`,
      new Uint8Array([0xff, ...Buffer.from(`${go.text}\n${line}`)]),
      `${go.text}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=`,
      `${go.text}\n${line}Unexpected line.\n`,
    ];
    for (const note of bad) {
      expect(parseNote(note).ok).toBe(false);
      expect(verifyNote(note, [peter]).ok).toBe(false);
    }
    expect(verifyNote(`${go.text}\n${line.repeat(MAX_NOTE_SIGNATURES + 1)}`, [peter])).toMatchObject({
      ok: false,
      reason: 'too-many-signatures',
    });
  });

  it('rejects every mangled vkey of TestNewVerifier', () => {
    const key: string = go.vkey;
    for (let i = 0; i <= key.length; i++) {
      for (let j = i + 1; j <= key.length; j++) {
        if (i !== 0 || j !== key.length) expect(parseVerifierKey(key.slice(i, j)).ok, key.slice(i, j)).toBe(false);
      }
    }
    for (let i = 0; i < key.length; i++) {
      const mangled = key.slice(0, i) + String.fromCharCode(key.charCodeAt(i) + 1) + key.slice(i + 1);
      expect(parseVerifierKey(mangled).ok, mangled).toBe(false);
    }
    expect(parseVerifierKey(go.badVkeys[0])).toMatchObject({ ok: false, reason: 'malformed-key' });
    expect(parseVerifierKey(go.badVkeys[1])).toMatchObject({ ok: false, reason: 'unsupported-signature-type' });
  });
});

// Names and texts a log could legitimately use, including non-ASCII.
const keyName = fc.stringMatching(/^[a-zA-Z0-9./_\-é€]{1,30}$/);
const noteText = fc
  .array(fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', '+', '=', '—', 'é', '€', '\n'), maxLength: 40 }), { maxLength: 5 })
  .map((lines) => `${lines.join('\n')}\n`);

describe('round trips', () => {
  it('every signed note verifies with its key, with unchanged text', () => {
    fc.assert(
      fc.property(keyName, noteText, fc.uint8Array({ minLength: 32, maxLength: 32 }), (name, text, seed) => {
        const { signer, vkey: v } = generateSignerKey(name, seed);
        const note = signNote(text, signer);
        const r = verifyNote(note, [vkey(v)]);
        expect(r.ok && r.note.text).toBe(text);
        expect(verifyNote(new TextEncoder().encode(note), [vkey(v)]).ok).toBe(true);
        expect(parseSignerKey(formatSignerKey(signer))).toEqual({ ok: true, value: signer });
      }),
      { numRuns: 100 },
    );
  });

  it('signNote refuses text no verifier would accept', () => {
    const { signer } = generateSignerKey('example.com/log');
    expect(() => signNote('no newline', signer)).toThrow(RangeError);
    expect(() => signNote('tab\there\n', signer)).toThrow(RangeError);
    expect(() => signerFromSeed('has space', new Uint8Array(32))).toThrow(RangeError);
    expect(() => signerFromSeed('a+b', new Uint8Array(32))).toThrow(RangeError);
  });
});

describe('hostile input', () => {
  const { signer, vkey: v } = generateSignerKey('example.com/log', new Uint8Array(32).fill(7));
  const key = vkey(v);
  const text = 'example.com/log\n42\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n';
  const good = signNote(text, signer);
  const hostileChar = fc.constantFrom('\n', '—', ' ', '+', '=', '/', 'A', '\x00', '\t', '\ud800', '\ufeff', '\u2028');

  it('a mutated note never throws, and never verifies with different text or signatures', () => {
    const edit = fc.record({ at: fc.nat(), del: fc.nat({ max: 3 }), ins: fc.string({ unit: hostileChar, maxLength: 3 }) });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        let note = good;
        for (const { at, del, ins } of edits) {
          const i = at % (note.length + 1);
          note = note.slice(0, i) + ins + note.slice(i + del);
        }
        const r = verifyNote(note, [key]);
        if (r.ok) {
          expect(r.note.text).toBe(text);
          expect(r.verifiedBy).toEqual([key]);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('arbitrary strings and bytes never throw', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.uint8Array()), (input) => {
        expect(typeof parseNote(input).ok).toBe('boolean');
        expect(verifyNote(input, [key]).ok).toBe(false);
        if (typeof input === 'string') {
          expect(typeof parseVerifierKey(input).ok).toBe('boolean');
          expect(typeof parseSignerKey(input).ok).toBe('boolean');
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('rejects a note larger than the limit before looking at it', () => {
    expect(parseNote('a'.repeat((1 << 20) + 1))).toMatchObject({ ok: false, reason: 'too-large' });
  });

  it('rejects non-canonical base64 in a signature (a second spelling of one signature)', () => {
    const line = good.slice(good.lastIndexOf('\n\n') + 2);
    const b64 = line.slice(line.lastIndexOf(' ') + 1, -1);
    // The base64 of 68 bytes ends in one padding character; its last data character carries 2 unused bits.
    const last = b64.at(-2)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const tweaked = alphabet[alphabet.indexOf(last) ^ 1]!;
    const note = good.replace(b64, `${b64.slice(0, -2)}${tweaked}=`);
    expect(verifyNote(note, [key])).toMatchObject({ ok: false, reason: 'bad-base64' });
  });
});

describe('verifier keys', () => {
  it('refuses a key that is not a canonical Ed25519 point, even with a matching key id', () => {
    // y = p (2^255 - 19) is the non-canonical encoding of y = 0; strict mode rejects it.
    const nonCanonical = new Uint8Array(32).fill(0xff);
    nonCanonical[0] = 0xed;
    nonCanonical[31] = 0x7f;
    const key = { name: 'example.com/log', keyId: ed25519KeyId('example.com/log', nonCanonical), publicKey: nonCanonical };
    expect(parseVerifierKey(formatVerifierKey(key))).toMatchObject({ ok: false, reason: 'malformed-key' });
  });
});
