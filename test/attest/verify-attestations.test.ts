import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64, utf8 } from '../../src/attest/bytes.ts';
import { signClaim } from '../../src/attest/claim.ts';
import { preAuthEncoding, signDsse, type DsseEnvelope } from '../../src/attest/dsse.ts';
import { taskPolicySchema } from '../../src/attest/policy.ts';
import type { VerifierKey } from '../../src/attest/registry.ts';
import { coSignAttestation, signAttestation } from '../../src/attest/statement.ts';
import {
  ATTESTATION_REJECTIONS,
  judgeAttestations,
  verifyAttestation,
  type JudgeInput,
} from '../../src/attest/verify-attestations.ts';
import {
  CLAIM_ID,
  COMMIT,
  NOW,
  RECEIVED,
  TASK,
  alice,
  bob,
  carol,
  claim,
  keyFromLabel,
  mallory,
  policy,
  registry,
  statement,
  submitter,
  verifierKey,
} from './fixtures.ts';

const ctx = { claim, claimId: CLAIM_ID, registry, receivedAt: RECEIVED, now: NOW };
const byAlice = () => signAttestation(statement(), alice.secretKey, 'alice');
const byBob = () => signAttestation(statement([3.282, 3.28, 3.281]), bob.secretKey, 'bob');

function judge(envelopes: DsseEnvelope[], overrides: Partial<JudgeInput> = {}) {
  return judgeAttestations({
    claim,
    claimId: CLAIM_ID,
    envelopes: envelopes.map((envelope) => ({ envelope, receivedAt: RECEIVED })),
    registry,
    policy,
    now: NOW,
    ...overrides,
  });
}

/**
 * A second, different, valid Ed25519 signature by the same key over the same message: RFC 8032 §5.1.6 with the nonce
 * r chosen freely instead of derived from the key. Verifiers cannot tell it from a deterministic one, so a key holder
 * can always produce many distinct valid signatures; counting must be by key, not by signature bytes.
 */
function signWithNonce(message: Uint8Array, secretKey: Uint8Array, nonce: bigint): Uint8Array {
  const { scalar, pointBytes } = ed25519.utils.getExtendedPublicKey(secretKey);
  const L = ed25519.Point.Fn.ORDER;
  const R = ed25519.Point.BASE.multiply(nonce % L).toBytes();
  const le = (b: Uint8Array) => BigInt('0x' + Buffer.from(b).reverse().toString('hex'));
  const k = le(sha512(new Uint8Array([...R, ...pointBytes, ...message]))) % L;
  const S = (nonce + k * scalar) % L;
  return new Uint8Array([...R, ...Buffer.from(S.toString(16).padStart(64, '0'), 'hex').reverse()]);
}

function withRegistry(changes: Record<string, Partial<VerifierKey>>): VerifierKey[] {
  return registry.map((k) => ({ ...k, ...(changes[k.id] ?? {}) }));
}

describe('verifyAttestation', () => {
  it('accepts a well-formed attestation by a trusted key and names the key', () => {
    const result = verifyAttestation(byAlice(), ctx);
    expect(result).toMatchObject({ ok: true, verifierKeyIds: ['alice'] });
    expect(result.ok && result.statement.predicate.claimId).toBe(CLAIM_ID);
  });

  describe('hostile input, each with its own reason code', () => {
    const cases: [string, () => unknown, Partial<typeof ctx>, string][] = [
      ['not an envelope', () => ({ hello: 'world' }), {}, 'bad_envelope'],
      ['a line-wrapped base64 payload (a second spelling)', () => ({ ...byAlice(), payload: byAlice().payload.replace(/(.{64})/g, '$1\n') }), {}, 'bad_envelope'],
      ['a signature by an unknown key', () => signAttestation(statement(), mallory.secretKey, 'mallory'), {}, 'unknown_key'],
      ['an unknown key claiming a trusted keyid', () => signAttestation(statement(), mallory.secretKey, 'alice'), {}, 'bad_signature'],
      ['a key revoked as compromised, even before its revocation time', byAlice, {
        registry: withRegistry({ alice: { revokedAt: '2026-11-21T20:00:00Z', revocationReason: 'compromised' } }),
      }, 'key_revoked'],
      ['a retired key, received after its retirement', byAlice, {
        registry: withRegistry({ alice: { revokedAt: '2026-11-21T11:30:00Z', revocationReason: 'retired' } }),
      }, 'key_revoked'],
      ['an expired key', byAlice, { registry: withRegistry({ alice: { validUntil: '2026-11-21T11:59:59Z' } }) }, 'key_expired'],
      ['a key not yet valid', byAlice, { registry: withRegistry({ alice: { validFrom: '2026-11-21T12:00:01Z' } }) }, 'key_not_yet_valid'],
      ['a key not trusted for this task', byAlice, { registry: withRegistry({ alice: { tasks: ['other-task'] } }) }, 'key_not_trusted_for_task'],
      ['a statement about another commit', () => signAttestation(statement(undefined, {}, 'c'.repeat(40)), alice.secretKey), {}, 'subject_commit_mismatch'],
      ['a statement about another task', () => signAttestation(statement(undefined, { task: 'other-task' }), alice.secretKey), {}, 'task_mismatch'],
      ['a statement answering another claim', () => signAttestation(statement(undefined, { claimId: 'f'.repeat(64) }), alice.secretKey), {}, 'claim_mismatch'],
      ['a statement about another metric', () => signAttestation(statement(undefined, { metric: 'val_bpb' }), alice.secretKey), {}, 'metric_mismatch'],
      ['a changed payloadType', () => ({ ...byAlice(), payloadType: 'application/vnd.proofboard.claim.v1+json' }), {}, 'wrong_payload_type'],
      ['a claim envelope signed by a verifier key', () => signClaim({ ...claim, submitter: alice.publicKeyHex }, alice.secretKey), {}, 'wrong_payload_type'],
      ['a signed non-statement', () => signDsse('application/vnd.in-toto+json', utf8('{"hello":1}'), alice.secretKey), {}, 'bad_statement'],
      ['a signed statement with another predicate type', () => {
        const s = JSON.parse(JSON.stringify(statement()));
        s.predicateType = 'https://slsa.dev/provenance/v1';
        return signDsse('application/vnd.in-toto+json', utf8(JSON.stringify(s)), alice.secretKey);
      }, {}, 'wrong_predicate_type'],
      ['a statement finished after it was received (beyond clock skew)', () => signAttestation(statement(undefined, { finishedAt: '2026-11-21T12:05:01Z' }), alice.secretKey), {}, 'bad_statement'],
    ];
    it.each(cases)('%s', (_name, make, overrides, reason) => {
      const result = verifyAttestation(make(), { ...ctx, ...overrides });
      expect(result).toMatchObject({ ok: false, reason });
    });

    it('payload re-encoded after signing (whitespace, key order) no longer verifies', () => {
      const env = byAlice();
      const json = JSON.parse(Buffer.from(fromBase64(env.payload, 'payload')).toString('utf8'));
      const spaced = { ...env, payload: toBase64(utf8(JSON.stringify(json, null, 2))) };
      const { _type, ...rest } = json;
      const reordered = { ...env, payload: toBase64(utf8(JSON.stringify({ ...rest, _type }))) };
      expect(verifyAttestation(spaced, ctx)).toMatchObject({ ok: false, reason: 'bad_signature' });
      expect(verifyAttestation(reordered, ctx)).toMatchObject({ ok: false, reason: 'bad_signature' });
      // Without a keyid to blame, the same bytes are simply by no key we know.
      const anonymous = { ...spaced, signatures: [{ sig: spaced.signatures[0]!.sig }] };
      expect(verifyAttestation(anonymous, ctx)).toMatchObject({ ok: false, reason: 'unknown_key' });
    });

    it('the same signature twice in one envelope counts once', () => {
      const env = byAlice();
      const result = verifyAttestation({ ...env, signatures: [env.signatures[0]!, env.signatures[0]!] }, ctx);
      expect(result).toMatchObject({ ok: true, verifierKeyIds: ['alice'], rejectedSignatures: [{ signature: 1, reason: 'duplicate_signature' }] });
    });

    it('the same verifier twice under two key ids, one registered twice, counts once (keyid is only a hint)', () => {
      const env = coSignAttestation(byAlice(), alice.secretKey, 'bob');
      // Ed25519 is deterministic: signing twice gives the same bytes, so make the second copy differ by keyid only.
      expect(env.signatures[0]!.sig).toBe(env.signatures[1]!.sig);
      const aliasRegistry = [...registry, verifierKey('alice-again', alice)];
      const twice = verifyAttestation({ ...env, signatures: [{ keyid: 'alice', sig: env.signatures[0]!.sig }, { keyid: 'alice-again', sig: env.signatures[0]!.sig }] }, { ...ctx, registry: aliasRegistry });
      expect(twice).toMatchObject({ ok: true, verifierKeyIds: ['alice'] });
      expect(twice.ok && twice.rejectedSignatures).toEqual([expect.objectContaining({ signature: 1, reason: 'duplicate_signature' })]);
    });

    it('two different valid signatures by one key in one envelope: one verifier', () => {
      const env = byAlice();
      const pae = preAuthEncoding(env.payloadType, fromBase64(env.payload, 'payload'));
      const second = toBase64(signWithNonce(pae, alice.secretKey, 123456789n));
      expect(second).not.toBe(env.signatures[0]!.sig);
      const result = verifyAttestation({ ...env, signatures: [env.signatures[0]!, { keyid: 'alice-2', sig: second }] }, ctx);
      expect(result).toMatchObject({ ok: true, verifierKeyIds: ['alice'], rejectedSignatures: [{ signature: 1, reason: 'duplicate_verifier' }] });
      expect(judge([{ ...env, signatures: [env.signatures[0]!, { sig: second }] }]).outcome).toBe('insufficient');
    });

    it('one public key registered under two ids is one verifier; a compromised record poisons both', () => {
      const aliasRegistry = [...registry, verifierKey('alice-again', alice, { revokedAt: '2026-11-01T00:00:00Z', revocationReason: 'compromised' })];
      expect(verifyAttestation(byAlice(), { ...ctx, registry: aliasRegistry })).toMatchObject({ ok: false, reason: 'key_revoked' });
    });

    it('a keyid naming the wrong registry key does not stop the right key from being found', () => {
      const env = signAttestation(statement(), alice.secretKey, 'bob');
      expect(verifyAttestation(env, ctx)).toMatchObject({ ok: true, verifierKeyIds: ['alice'] });
    });

    it('every reason code used is in the closed set', () => {
      for (const [, , , reason] of cases) expect(ATTESTATION_REJECTIONS).toContain(reason);
    });
  });

  it('retired key: counts when received before the retirement', () => {
    const reg = withRegistry({ alice: { revokedAt: '2026-11-21T12:00:01Z', revocationReason: 'retired' } });
    expect(verifyAttestation(byAlice(), { ...ctx, registry: reg })).toMatchObject({ ok: true });
  });

  it('property: no single-byte change to a signed envelope makes a different statement verify', () => {
    const env = byAlice();
    const payload = fromBase64(env.payload, 'payload');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: payload.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const changed = Uint8Array.from(payload);
        changed[at]! ^= xor;
        const result = verifyAttestation({ ...env, payload: toBase64(changed) }, ctx);
        expect(result.ok).toBe(false);
      }),
      { numRuns: 100 },
    );
  });
});

describe('judgeAttestations', () => {
  it('quorum of two distinct trusted verifiers within tolerance: verified, naming the rule', () => {
    const j = judge([byAlice(), byBob()]);
    expect(j).toMatchObject({ outcome: 'verified', rule: 'quorum 2/2 within abs 0.01', rejected: [] });
    expect(j.counted.map((c) => c.keyId)).toEqual(['alice', 'bob']);
  });

  it('one agreeing verifier is not a quorum', () => {
    expect(judge([byAlice()])).toMatchObject({ outcome: 'insufficient', rule: 'quorum 1/2 within abs 0.01' });
  });

  it('t-of-n: one envelope co-signed by two verifiers meets a quorum of two', () => {
    const env = coSignAttestation(byAlice(), bob.secretKey, 'bob');
    expect(judge([env])).toMatchObject({ outcome: 'verified', rule: 'quorum 2/2 within abs 0.01' });
  });

  it('the same attestation twice counts once', () => {
    const j = judge([byAlice(), byAlice()]);
    expect(j).toMatchObject({ outcome: 'insufficient', rejected: [{ index: 1, reason: 'duplicate_attestation' }] });
  });

  it('the same verifier in two envelopes (two runs, two key ids) counts once', () => {
    const again = signAttestation(statement([3.28, 3.28, 3.28]), alice.secretKey, 'alice-2');
    const j = judge([byAlice(), again]);
    expect(j.outcome).toBe('insufficient');
    expect(j.rejected).toEqual([expect.objectContaining({ index: 1, reason: 'duplicate_verifier' })]);
  });

  it('the same signature lifted into a second envelope counts once', () => {
    const a = byAlice();
    const copy = { ...a, signatures: [{ sig: a.signatures[0]!.sig }] };
    const j = judge([a, copy]);
    expect(j.counted).toHaveLength(1);
    expect(j.rejected[0]).toMatchObject({ index: 1, reason: 'duplicate_attestation' });
  });

  it('one trusted attestation beyond tolerance contradicts, even against a quorum', () => {
    const worse = signAttestation(statement([3.3, 3.29, 3.31]), carol.secretKey, 'carol');
    const j = judge([byAlice(), byBob(), worse]);
    expect(j.outcome).toBe('contradicted');
    expect(j.rule).toMatch(/^contradicted by carol: mean 3\.3 is worse than claimed 3\.28 beyond abs 0\.01/);
  });

  it('a contradiction by an untrusted key is ignored (and says why)', () => {
    const worse = signAttestation(statement([3.5, 3.5, 3.5]), mallory.secretKey);
    const j = judge([byAlice(), byBob(), worse]);
    expect(j.outcome).toBe('verified');
    expect(j.rejected).toEqual([expect.objectContaining({ index: 2, reason: 'unknown_key' })]);
  });

  it('a verifier that later contradicts itself is not ignored', () => {
    const worse = signAttestation(statement([3.4, 3.4, 3.4]), alice.secretKey, 'alice');
    expect(judge([byAlice(), byBob(), worse]).outcome).toBe('contradicted');
  });

  it('tolerance boundary through the whole pipeline: mean exactly claimed + abs agrees, one ulp over contradicts', () => {
    const dyadic = taskPolicySchema.parse({ ...policy, tolerance: { absolute: 0.25 } });
    const c = { ...claim, metric: { name: 'val_loss', value: 2.5 } };
    const envs = (v: number) =>
      [alice, bob].map((k) => signAttestation(statement([v, v, v]), k.secretKey)).map((envelope) => ({ envelope, receivedAt: RECEIVED }));
    const run = (v: number) => judgeAttestations({ claim: c, claimId: CLAIM_ID, envelopes: envs(v), registry, policy: dyadic, now: NOW });
    expect(run(2.75).outcome).toBe('verified');
    expect(run(2.75 + 2 ** -51).outcome).toBe('contradicted');
  });

  it('runs must match the policy (count and seeds)', () => {
    const tooFew = signAttestation(statement([3.28, 3.28]), alice.secretKey);
    const wrongSeeds = signAttestation(statement(undefined, { runs: [{ seed: 7, value: 3.28 }, { seed: 8, value: 3.28 }, { seed: 9, value: 3.28 }] }), bob.secretKey);
    const j = judge([tooFew, wrongSeeds]);
    expect(j.rejected.map((r) => r.reason)).toEqual(['runs_mismatch', 'runs_mismatch']);
    expect(j.outcome).toBe('insufficient');
  });

  it('revoking one key as compromised loses the quorum on re-judgement', () => {
    const envs = [byAlice(), byBob()];
    expect(judge(envs).outcome).toBe('verified');
    const revoked = withRegistry({ bob: { revokedAt: '2026-11-21T23:00:00Z', revocationReason: 'compromised' } });
    const j = judge(envs, { registry: revoked });
    expect(j).toMatchObject({ outcome: 'insufficient', rule: 'quorum 1/2 within abs 0.01' });
    expect(j.rejected).toEqual([expect.objectContaining({ index: 1, reason: 'key_revoked' })]);
  });

  describe('beats-parent claims', () => {
    const beats = { ...claim, beatsParent: true };
    const parentRuns = [3.2891, 3.2902, 3.2885];

    it('verified when the runs, one per seed, beat the parent in a one-sided Welch test (statistic and p in full)', () => {
      const j = judge([byAlice(), byBob()], { claim: beats, parentRuns });
      expect(j.outcome).toBe('verified');
      // Two verifiers re-ran the same three seeds: three samples, not six.
      expect(j.rule).toMatch(/^quorum 2\/2 within abs 0\.01; beats parent by one-sided welch-t t=\S+ df=\S+ p=\S+ < alpha 0\.05 \(n=3 vs 3\)$/);
    });

    it('contradicted when the measured runs do not beat the parent at the task\'s alpha', () => {
      const j = judge([byAlice(), byBob()], { claim: beats, parentRuns: [3.2805, 3.2815, 3.279] });
      expect(j.outcome).toBe('contradicted');
      expect(j.rule).toMatch(/does not beat its parent: one-sided welch-t t=\S+ df=\S+ p=\S+ >= alpha 0\.05/);
    });

    it('insufficient without parent runs', () => {
      expect(judge([byAlice(), byBob()], { claim: beats }).rule).toMatch(/needs at least 2 runs/);
    });
  });

  it('the verdict is the same whoever runs it: pure in its inputs', () => {
    const envs = [byAlice(), byBob()];
    expect(judge(envs)).toEqual(judge(structuredClone(envs)));
  });

  it('property: shuffling distinct agreeing attestations never changes the outcome', () => {
    const envs = [byAlice(), byBob(), signAttestation(statement(), carol.secretKey)];
    fc.assert(
      fc.property(fc.shuffledSubarray(envs, { minLength: 0, maxLength: 3 }), (subset) => {
        const j = judge(subset);
        expect(j.outcome).toBe(subset.length >= 2 ? 'verified' : 'insufficient');
      }),
      { numRuns: 30 },
    );
  });

  it('ignores envelopes about other commits without failing the whole judgement', () => {
    const other = signAttestation(statement(undefined, {}, 'c'.repeat(40)), carol.secretKey);
    const j = judge([byAlice(), other, byBob()]);
    expect(j.outcome).toBe('verified');
    expect(j.rejected).toEqual([expect.objectContaining({ index: 1, reason: 'subject_commit_mismatch' })]);
    expect(COMMIT).not.toBe('c'.repeat(40));
    expect(TASK).toBe(claim.task);
  });
});

describe('judgeAttestations counts operators, not keys (issue 15, finding 4)', () => {
  // alice's lab registers a second key; dave is another operator's. The submitter's key is in the registry too, in
  // the self-attestation cases: the operator "submitter-lab" owns it as a verifier key.
  const alice2 = keyFromLabel('verifier-alice-second-key');
  const sameLab = [
    verifierKey('alice', alice, { operator: 'alice-lab' }),
    verifierKey('alice-2', alice2, { operator: 'alice-lab' }),
    verifierKey('bob', bob, { operator: 'bob-lab' }),
  ];
  const byAlice2 = (values?: number[]) => signAttestation(statement(values ?? [3.28, 3.28, 3.28]), alice2.secretKey, 'alice-2');

  it('two keys of one operator, each in its own envelope, are one vote: quorum 1/2', () => {
    const j = judge([byAlice(), byAlice2()], { registry: sameLab });
    expect(j).toMatchObject({ outcome: 'insufficient', rule: 'quorum 1/2 within abs 0.01' });
    expect(j.counted.map((c) => c.keyId)).toEqual(['alice']);
    expect(j.rejected).toEqual([expect.objectContaining({ index: 1, reason: 'duplicate_operator' })]);
  });

  it('one envelope co-signed by two keys of one operator counts once', () => {
    const env = coSignAttestation(byAlice(), alice2.secretKey, 'alice-2');
    const j = judge([env], { registry: sameLab });
    expect(j).toMatchObject({ outcome: 'insufficient', rule: 'quorum 1/2 within abs 0.01' });
    expect(j.rejected).toEqual([expect.objectContaining({ index: 0, signature: 1, reason: 'duplicate_operator' })]);
  });

  it('two operators make a quorum of two, and each counted attestation names its operator', () => {
    const j = judge([byAlice(), byAlice2(), byBob()], { registry: sameLab });
    expect(j).toMatchObject({ outcome: 'verified', rule: 'quorum 2/2 within abs 0.01' });
    expect(j.counted.map((c) => [c.keyId, c.operator])).toEqual([['alice', 'alice-lab'], ['bob', 'bob-lab']]);
  });

  it("a contradiction by an operator's second key is still a contradiction", () => {
    const j = judge([byAlice(), byAlice2([3.4, 3.4, 3.4]), byBob()], { registry: sameLab });
    expect(j.outcome).toBe('contradicted');
    expect(j.rule).toMatch(/^contradicted by alice-2: /);
  });

  describe('self-attestation', () => {
    const withSubmitter = [...sameLab, verifierKey('sub', submitter, { operator: 'submitter-lab' })];
    const subLab = [
      ...sameLab.map((k) => (k.id === 'alice' ? { ...k, operator: 'submitter-lab' } : k)),
      verifierKey('sub', submitter, { operator: 'submitter-lab' }),
    ];
    const bySubmitter = () => signAttestation(statement(), submitter.secretKey, 'sub');
    const allow = { ...policy, selfAttestation: 'allow' as const };

    it('a verifier key attesting the claim it signed does not count by default', () => {
      const j = judge([bySubmitter(), byBob()], { registry: withSubmitter });
      expect(j).toMatchObject({ outcome: 'insufficient', rule: 'quorum 1/2 within abs 0.01' });
      expect(j.rejected).toEqual([expect.objectContaining({ index: 0, reason: 'self_attestation' })]);
      expect(j.rejected[0]!.message).toMatch(/submitter-lab/);
    });

    it("another key of the submitter's operator does not count either", () => {
      const j = judge([byAlice(), byBob()], { registry: subLab });
      expect(j).toMatchObject({ outcome: 'insufficient', rule: 'quorum 1/2 within abs 0.01' });
      expect(j.rejected).toEqual([expect.objectContaining({ index: 0, reason: 'self_attestation' })]);
    });

    it('both count when the task allows self-attestation', () => {
      expect(judge([bySubmitter(), byBob()], { registry: withSubmitter, policy: allow })).toMatchObject({ outcome: 'verified' });
      expect(judge([byAlice(), byBob()], { registry: subLab, policy: allow })).toMatchObject({ outcome: 'verified' });
    });

    it('the policy refuses self-attestation unless it says otherwise, so existing tasks parse as before', () => {
      const { selfAttestation: _omit, ...stored } = policy as typeof policy & { selfAttestation?: unknown };
      expect(taskPolicySchema.parse(stored)).toMatchObject({ selfAttestation: 'refuse' });
      expect(taskPolicySchema.parse({ ...stored, selfAttestation: 'allow' })).toMatchObject({ selfAttestation: 'allow' });
      expect(taskPolicySchema.safeParse({ ...stored, selfAttestation: 'sometimes' }).success).toBe(false);
    });
  });

  it('the new reasons are in the closed set', () => {
    expect(ATTESTATION_REJECTIONS).toContain('duplicate_operator');
    expect(ATTESTATION_REJECTIONS).toContain('self_attestation');
  });
});
