import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64, utf8 } from '../../src/attest/bytes.ts';
import { decodeDsse, verifyDsseSignature } from '../../src/attest/dsse.ts';
import {
  IN_TOTO_PAYLOAD_TYPE,
  MAX_STATEMENT_BYTES,
  REPLAY_RESULT_PREDICATE_TYPE,
  buildReplayStatement,
  coSignAttestation,
  inTotoStatementSchema,
  parseReplayStatement,
  signAttestation,
  toStatementBytes,
} from '../../src/attest/statement.ts';
import { COMMIT, alice, bob, predicate, sha, statement } from './fixtures.ts';

describe('in-toto Statement v1 example (in-toto/attestation spec/predicates/test-result.md)', () => {
  const text = readFileSync(new URL('../vectors/in-toto/test-result-statement.json', import.meta.url), 'utf8');

  it('parses as a generic Statement v1 with a gitCommit subject', () => {
    const parsed = inTotoStatementSchema.parse(JSON.parse(text));
    expect(parsed.subject[0]!.digest).toEqual({ gitCommit: 'd20ace7968ba43c0219f62d71334c1095bab1602' });
    expect(parsed.predicateType).toBe('https://in-toto.io/attestation/test-result/v0.1');
  });

  it('is refused by the replay-result parser as another predicate type, not as garbage', () => {
    expect(parseReplayStatement(utf8(text))).toMatchObject({ ok: false, reason: 'wrong_predicate_type' });
  });
});

describe('replay-result statements', () => {
  it('builds a Statement v1: commit subject first, model second, our predicate type', () => {
    const s = statement();
    expect(s._type).toBe('https://in-toto.io/Statement/v1');
    expect(s.subject).toEqual([
      { name: 'commit', digest: { gitCommit: COMMIT } },
      { name: 'model', digest: { sha256: sha('model') } },
    ]);
    expect(s.predicateType).toBe(REPLAY_RESULT_PREDICATE_TYPE);
    const noModel = buildReplayStatement({ commit: COMMIT, predicate: predicate() });
    expect(noModel.subject).toHaveLength(1);
  });

  it('signs as a DSSE envelope with the in-toto payload type, parsed back from the signed bytes', () => {
    const env = signAttestation(statement(), alice.secretKey, 'alice');
    expect(env.payloadType).toBe(IN_TOTO_PAYLOAD_TYPE);
    const decoded = decodeDsse(env);
    expect(verifyDsseSignature(decoded, decoded.signatures[0]!.sig, alice.publicKey, 'strict')).toBe(true);
    expect(parseReplayStatement(decoded.payload)).toEqual({ ok: true, statement: statement() });
  });

  it('co-signs one payload (t-of-n): every signature covers the same bytes', () => {
    const env = coSignAttestation(signAttestation(statement(), alice.secretKey, 'alice'), bob.secretKey, 'bob');
    const decoded = decodeDsse(env);
    expect(decoded.signatures).toHaveLength(2);
    expect(verifyDsseSignature(decoded, decoded.signatures[0]!.sig, alice.publicKey, 'strict')).toBe(true);
    expect(verifyDsseSignature(decoded, decoded.signatures[1]!.sig, bob.publicKey, 'strict')).toBe(true);
    expect(() => coSignAttestation({ ...env, payloadType: 'application/json' }, bob.secretKey)).toThrow(TypeError);
  });

  const bad: [string, (s: any) => void, RegExp][] = [
    ['an unknown top-level field', (s) => (s.extra = 1), /Unrecognized key/],
    ['an unknown predicate field', (s) => (s.predicate.note = 'trust me'), /Unrecognized key/],
    ['an unknown environment field', (s) => (s.predicate.environment.cloud = 'x'), /Unrecognized key/],
    ['the model before the commit', (s) => s.subject.reverse(), /subject/],
    ['a sha1 commit in upper case', (s) => (s.subject[0].digest.gitCommit = 'A'.repeat(40)), /gitCommit/],
    ['an extra digest algorithm', (s) => (s.subject[0].digest.sha256 = sha('x')), /subject/],
    ['no runs', (s) => (s.predicate.runs = []), /runs/],
    ['65 runs', (s) => (s.predicate.runs = Array.from({ length: 65 }, (_, i) => ({ seed: i, value: 1 }))), /runs/],
    ['a repeated seed', (s) => (s.predicate.runs = [{ seed: 1, value: 1 }, { seed: 1, value: 2 }]), /distinct/],
    ['a negative seed', (s) => (s.predicate.runs[0].seed = -1), /seed/],
    ['a fractional seed', (s) => (s.predicate.runs[0].seed = 1.5), /seed/],
    ['a value of 1e13', (s) => (s.predicate.runs[0].value = 1e13), /value/],
    ['finishedAt before startedAt', (s) => (s.predicate.finishedAt = '2026-11-21T08:00:00Z'), /finishedAt/],
    ['a timestamp with an offset', (s) => (s.predicate.startedAt = '2026-11-21T09:00:00+02:00'), /startedAt/],
    ['a harness digest in upper case', (s) => (s.predicate.environment.harnessSha256 = sha('h').toUpperCase()), /harnessSha256/],
    ['zero GPUs', (s) => (s.predicate.environment.gpu = { model: 'H100', count: 0 }), /gpu/],
    ['a control character in the GPU model', (s) => (s.predicate.environment.gpu = { model: 'H100\n', count: 1 }), /gpu/],
  ];
  it.each(bad)('rejects %s as bad_statement', (_name, mutate, message) => {
    const s: any = structuredClone(statement());
    mutate(s);
    const result = parseReplayStatement(utf8(JSON.stringify(s)));
    expect(result).toMatchObject({ ok: false, reason: 'bad_statement' });
    expect(!result.ok && result.message).toMatch(message);
  });

  it('runs on CPU with no driver', () => {
    const s: any = structuredClone(statement());
    s.predicate.environment.gpu = 'cpu';
    s.predicate.environment.driver = null;
    expect(parseReplayStatement(utf8(JSON.stringify(s))).ok).toBe(true);
  });

  it('refuses payloads that are too big, not UTF-8, not JSON or not a Statement', () => {
    expect(parseReplayStatement(new Uint8Array(MAX_STATEMENT_BYTES + 1).fill(0x20))).toMatchObject({ reason: 'bad_statement' });
    expect(parseReplayStatement(Uint8Array.from([0xff, 0xfe]))).toMatchObject({ reason: 'bad_statement' });
    expect(parseReplayStatement(utf8('{"_type":'))).toMatchObject({ reason: 'bad_statement' });
    expect(parseReplayStatement(utf8('{"_type":"https://in-toto.io/Statement/v0.1"}'))).toMatchObject({ reason: 'bad_statement' });
  });

  it('will not build an invalid statement or sign an oversized one', () => {
    expect(() => buildReplayStatement({ commit: 'xyz', predicate: predicate() })).toThrow();
    expect(toStatementBytes(statement()).length).toBeLessThan(MAX_STATEMENT_BYTES);
  });

  it('property: any valid predicate round-trips through sign, decode and parse', () => {
    const run = fc.record({ seed: fc.integer({ min: 0, max: 0xffff_ffff }), value: fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((v) => v + 0) });
    fc.assert(
      fc.property(fc.uniqueArray(run, { minLength: 1, maxLength: 64, selector: (r) => r.seed }), (runs) => {
        const s = buildReplayStatement({ commit: COMMIT, predicate: { ...predicate(), runs } });
        const env = signAttestation(s, alice.secretKey);
        const parsed = parseReplayStatement(fromBase64(env.payload, 'payload'));
        expect(parsed).toEqual({ ok: true, statement: s });
      }),
      { numRuns: 50 },
    );
  });
});
