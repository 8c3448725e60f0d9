import { describe, expect, it } from 'vitest';
import { effectiveTime, effectiveValidFrom, judgeKeyUse, toEffectiveRegistry, toEffectiveVerifierKey, toVerifierKey, verifierKeySchema } from '../../src/attest/registry.ts';
import { TASK, alice, verifierKey } from './fixtures.ts';

const d = (iso: string) => new Date(iso);
const use = (signedAt: string, receivedAt: string, now = '2026-12-31T00:00:00Z', task = TASK) => ({
  task,
  signedAt: d(signedAt),
  receivedAt: d(receivedAt),
  now: d(now),
});

describe('judgeKeyUse', () => {
  const base = verifierKey('alice', alice, { validFrom: '2026-11-01T00:00:00Z', validUntil: '2026-12-01T00:00:00Z' });

  it('counts a valid, unrevoked key trusted for the task', () => {
    expect(judgeKeyUse(base, use('2026-11-10T00:00:00Z', '2026-11-10T00:01:00Z'))).toEqual({ ok: true });
  });

  it('validity window [validFrom, validUntil) at the exact boundaries', () => {
    expect(judgeKeyUse(base, use('2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z')).ok).toBe(true);
    expect(judgeKeyUse(base, use('2026-10-31T23:59:59.999Z', '2026-10-31T23:59:59.999Z'))).toMatchObject({ reason: 'key_not_yet_valid' });
    expect(judgeKeyUse(base, use('2026-11-30T23:59:59.999Z', '2026-11-30T23:59:59.999Z')).ok).toBe(true);
    expect(judgeKeyUse(base, use('2026-11-30T00:00:00Z', '2026-12-01T00:00:00Z'))).toMatchObject({ reason: 'key_expired' });
  });

  it('an expired key cannot backdate: the received time decides', () => {
    expect(judgeKeyUse(base, use('2026-11-15T00:00:00Z', '2026-12-05T00:00:00Z'))).toMatchObject({ reason: 'key_expired' });
  });

  it('a signed time later than receipt only makes the attestation later', () => {
    expect(effectiveTime({ signedAt: d('2026-12-02T00:00:00Z'), receivedAt: d('2026-11-30T00:00:00Z') })).toEqual(d('2026-12-02T00:00:00Z'));
    expect(judgeKeyUse(base, use('2026-12-02T00:00:00Z', '2026-11-30T00:00:00Z'))).toMatchObject({ reason: 'key_expired' });
  });

  describe('retired key', () => {
    const retired = { ...base, revokedAt: '2026-11-20T00:00:00Z', revocationReason: 'retired' as const };
    it('counts for attestations received before the retirement', () => {
      expect(judgeKeyUse(retired, use('2026-11-19T00:00:00Z', '2026-11-19T23:59:59.999Z')).ok).toBe(true);
    });
    it('does not count for attestations received at or after it, whatever they say they were signed at', () => {
      expect(judgeKeyUse(retired, use('2026-11-19T00:00:00Z', '2026-11-20T00:00:00Z'))).toMatchObject({ reason: 'key_revoked' });
      expect(judgeKeyUse(retired, use('2026-11-01T00:00:00Z', '2026-11-25T00:00:00Z'))).toMatchObject({ reason: 'key_revoked' });
    });
    it('a revocation dated after `now` has not happened yet', () => {
      expect(judgeKeyUse(retired, use('2026-11-19T00:00:00Z', '2026-11-21T00:00:00Z', '2026-11-19T12:00:00Z')).ok).toBe(true);
    });
  });

  describe('key revoked as compromised', () => {
    const compromised = { ...base, revokedAt: '2026-11-20T00:00:00Z', revocationReason: 'compromised' as const };
    it('counts for nothing, even for attestations received long before the revocation', () => {
      expect(judgeKeyUse(compromised, use('2026-11-02T00:00:00Z', '2026-11-02T00:00:00Z'))).toMatchObject({ reason: 'key_revoked' });
    });
    it('before the revocation is recorded (now < revokedAt) it still counted: a later re-judgement withdraws it', () => {
      expect(judgeKeyUse(compromised, use('2026-11-02T00:00:00Z', '2026-11-02T00:00:00Z', '2026-11-10T00:00:00Z')).ok).toBe(true);
    });
  });

  it('is refused for a task the key is not trusted for', () => {
    expect(judgeKeyUse(base, use('2026-11-10T00:00:00Z', '2026-11-10T00:00:00Z', undefined, 'other-task'))).toMatchObject({
      reason: 'key_not_trusted_for_task',
    });
  });
});

describe('verifier key records', () => {
  it('converts stored rows with Date times', () => {
    const key = toVerifierKey({
      id: '0123abcd',
      name: 'lab A',
      publicKey: alice.publicKeyHex,
      tasks: [TASK],
      validFrom: d('2026-11-01T00:00:00Z'),
      validUntil: null,
      revokedAt: d('2026-11-20T00:00:00Z'),
      revocationReason: 'retired',
    });
    expect(key.validFrom).toBe('2026-11-01T00:00:00.000Z');
    expect(key.revokedAt).toBe('2026-11-20T00:00:00.000Z');
  });

  it('refuses malformed trust material', () => {
    const ok = verifierKey('alice', alice);
    expect(verifierKeySchema.safeParse({ ...ok, revokedAt: '2026-11-20T00:00:00Z' }).success).toBe(false);
    expect(verifierKeySchema.safeParse({ ...ok, revocationReason: 'lost' }).success).toBe(false);
    expect(verifierKeySchema.safeParse({ ...ok, validUntil: ok.validFrom }).success).toBe(false);
    expect(verifierKeySchema.safeParse({ ...ok, publicKey: alice.publicKeyHex.toUpperCase() }).success).toBe(false);
    expect(verifierKeySchema.safeParse({ ...ok, tasks: ['*'] }).success).toBe(false);
  });
});

describe('registration bounds validity (effectiveValidFrom): the service and recheck judge with it alike', () => {
  const record = (validFrom: string, registeredAt: string, validUntil: string | null = null) => ({
    id: '0123abcd',
    name: 'lab A',
    publicKey: alice.publicKeyHex,
    tasks: [TASK],
    validFrom,
    validUntil,
    revokedAt: null,
    revocationReason: null,
    registeredAt,
  });

  it('starts a key at the later of validFrom and its registration', () => {
    expect(effectiveValidFrom(record('2026-01-01T00:00:00Z', '2026-11-01T00:00:00Z'))).toBe('2026-11-01T00:00:00.000Z');
    expect(effectiveValidFrom(record('2026-11-05T00:00:00Z', '2026-11-01T00:00:00Z'))).toBe('2026-11-05T00:00:00.000Z');
    expect(effectiveValidFrom({ validFrom: d('2026-01-01T00:00:00Z'), registeredAt: d('2026-11-01T00:00:00Z') })).toBe('2026-11-01T00:00:00.000Z');
  });

  it('a back-dated validFrom does not reach back before the registration', () => {
    const key = toEffectiveVerifierKey(record('2026-01-01T00:00:00Z', '2026-11-01T00:00:00Z'));
    expect(judgeKeyUse(key, use('2026-10-01T00:00:00Z', '2026-10-01T00:00:00Z'))).toMatchObject({ reason: 'key_not_yet_valid' });
    expect(judgeKeyUse(key, use('2026-11-02T00:00:00Z', '2026-11-02T00:00:00Z'))).toEqual({ ok: true });
  });

  it('a key whose validity ended before it was registered counts for nothing, and an unreadable time is refused', () => {
    const [ended] = toEffectiveRegistry([record('2026-01-01T00:00:00Z', '2026-11-01T00:00:00Z', '2026-06-01T00:00:00Z')]);
    expect(judgeKeyUse(ended!, use('2026-03-01T00:00:00Z', '2026-03-01T00:00:00Z'))).toMatchObject({ reason: 'key_not_yet_valid' });
    expect(judgeKeyUse(ended!, use('2026-11-02T00:00:00Z', '2026-11-02T00:00:00Z'))).toMatchObject({ reason: 'key_expired' });
    expect(() => effectiveValidFrom(record('2026-01-01T00:00:00Z', 'yesterday'))).toThrow(/registeredAt/);
  });
});
