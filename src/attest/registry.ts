// The operator's trust registry of verifier keys, and the pure rule that decides whether a signature by one of them
// counts for an attestation. The registry itself lives in the database; this module only judges records passed in.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { fromHex } from './bytes.ts';
import { publicKeyHexSchema, taskIdSchema } from './claim.ts';

const timestampSchema = z.iso.datetime({ offset: false });

/**
 * An operator's id: who runs a verifier key. A quorum counts operators, not keys (DESIGN.md, "What a signature
 * covers"): one lab with two keys is one vote. A lowercase slug, so two spellings of one name cannot be two operators.
 */
export const operatorIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'operator id: lowercase letters, digits and -, 1 to 64 characters, not starting with -');

/**
 * The operator of a key registered before keys had one (migration 0003): each such key its own operator, as they were
 * counted before. A re-check of a server that names no operators counts the same way.
 */
export function defaultOperatorId(keyId: string): string {
  return `key-${keyId}`;
}

export const revocationReasonSchema = z.enum(['compromised', 'retired']);
export type RevocationReason = z.infer<typeof revocationReasonSchema>;

export const verifierKeySchema = z
  .object({
    /** The operator's stable id for this key record; what verdicts and reputations name. */
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/),
    name: z.string().min(1).max(128),
    /** Who runs this key; every key of one operator together counts once toward a quorum. */
    operator: operatorIdSchema,
    publicKey: publicKeyHexSchema,
    validFrom: timestampSchema,
    validUntil: timestampSchema.nullable(),
    revokedAt: timestampSchema.nullable(),
    revocationReason: revocationReasonSchema.nullable(),
    /** Task ids this key may attest for. No wildcard: trust is granted task by task. */
    tasks: z.array(taskIdSchema).max(1024),
  })
  .strict()
  .refine((k) => (k.revokedAt === null) === (k.revocationReason === null), {
    message: 'revokedAt and revocationReason are set together',
    path: ['revocationReason'],
  })
  .refine((k) => k.validUntil === null || Date.parse(k.validUntil) > Date.parse(k.validFrom), {
    message: 'validUntil must be after validFrom',
    path: ['validUntil'],
  });

export type VerifierKey = z.infer<typeof verifierKeySchema>;

/**
 * The registry's id of a verifier key: the first 16 bytes of SHA-256 over the raw 32-byte public key, in hex. The
 * service, `proofboard verifier keygen` and `proofboard admin` derive it alike, so an operator can name a key either way.
 */
export function verifierKeyId(publicKeyHex: string): string {
  return createHash('sha256').update(fromHex(publicKeyHex, 'publicKey', 32)).digest('hex').slice(0, 32);
}

export type KeyRejection = 'key_revoked' | 'key_expired' | 'key_not_yet_valid' | 'key_not_trusted_for_task';
export type KeyDenial = { ok: false; reason: KeyRejection; message: string };
export type KeyJudgement = { ok: true } | KeyDenial;

export type KeyUse = {
  task: string;
  /** When the verifier says it produced the attestation (the statement's finishedAt): the signer's own word. */
  signedAt: Date;
  /** When the server received the attestation: recorded by the service, not chosen by the signer. */
  receivedAt: Date;
  /** The time of judging. Revocations dated after `now` have not happened yet. */
  now: Date;
};

/**
 * The time a key's validity window and a retirement are checked at: the later of the signed time and the received
 * time, which in practice is the received time.
 *
 * Why the later one: the signed time is chosen by whoever holds the key. A key that has expired or been retired but
 * is still in someone's hands (a decommissioned machine, a former operator) could otherwise sign a result today and
 * date it before the cut-off. The received time is recorded by the service, so the key holder cannot move it
 * earlier; and taking the maximum means a signer can only ever make its attestation look later, which only hurts it.
 * The cost falls on the honest late deliverer: a result signed before a retirement but delivered after it does not
 * count, and is re-signed with the operator's new key.
 */
export function effectiveTime(use: Pick<KeyUse, 'signedAt' | 'receivedAt'>): Date {
  return use.signedAt.getTime() > use.receivedAt.getTime() ? use.signedAt : use.receivedAt;
}

/** Whether the key record has been revoked as of `now`. */
export function isRevokedAt(key: VerifierKey, now: Date): boolean {
  return key.revokedAt !== null && Date.parse(key.revokedAt) <= now.getTime();
}

/**
 * Decides whether a valid signature by `key` counts for an attestation about `use.task`.
 *
 * - Revoked as `compromised` (as of `now`): never counts, whatever the attestation's time. Anyone may have signed
 *   with it, and a signed time proves nothing, so everything it signed is re-judged without it.
 * - Revoked as `retired`: counts only if the effective time is before the revocation.
 * - Outside [validFrom, validUntil) at the effective time: key_not_yet_valid / key_expired.
 * - Not trusted for the task: a key trusted for one task's hardware says nothing about another task.
 */
export function judgeKeyUse(key: VerifierKey, use: KeyUse): KeyJudgement {
  const at = effectiveTime(use).getTime();
  if (isRevokedAt(key, use.now)) {
    if (key.revocationReason === 'compromised') {
      return deny('key_revoked', `key ${key.id} was revoked as compromised at ${key.revokedAt}; nothing it signed counts`);
    }
    if (at >= Date.parse(key.revokedAt!)) {
      return deny('key_revoked', `key ${key.id} was retired at ${key.revokedAt}, before this attestation's time`);
    }
  }
  if (at < Date.parse(key.validFrom)) return deny('key_not_yet_valid', `key ${key.id} is valid from ${key.validFrom}`);
  if (key.validUntil !== null && at >= Date.parse(key.validUntil)) {
    return deny('key_expired', `key ${key.id} expired at ${key.validUntil}`);
  }
  if (!key.tasks.includes(use.task)) return deny('key_not_trusted_for_task', `key ${key.id} is not trusted for task ${use.task}`);
  return { ok: true };
}

function deny(reason: KeyRejection, message: string): KeyDenial {
  return { ok: false, reason, message };
}

/**
 * A registry record as storage hands it over, with Date or ISO-string times. `operator` is absent only in a re-check
 * bundle from a server older than operator ids (see defaultOperatorId).
 */
export type VerifierKeyRecord = Omit<VerifierKey, 'operator' | 'validFrom' | 'validUntil' | 'revokedAt' | 'revocationReason'> & {
  operator?: string | null;
  validFrom: Date | string;
  validUntil: Date | string | null;
  revokedAt: Date | string | null;
  revocationReason: string | null;
};

/** Converts and validates a stored record; throws a ZodError on a malformed one (trust material is never guessed). */
export function toVerifierKey(record: VerifierKeyRecord): VerifierKey {
  const iso = (t: Date | string | null) => (t instanceof Date ? t.toISOString() : t);
  return verifierKeySchema.parse({
    id: record.id,
    name: record.name,
    operator: record.operator ?? defaultOperatorId(record.id),
    publicKey: record.publicKey,
    tasks: record.tasks,
    validFrom: iso(record.validFrom),
    validUntil: iso(record.validUntil),
    revokedAt: iso(record.revokedAt),
    revocationReason: record.revocationReason,
  });
}

/** A stored record with the time the operator registered it: the service's row, or a re-check bundle's entry. */
export type RegisteredKeyRecord = VerifierKeyRecord & { registeredAt: Date | string };

/**
 * When a key starts to count: the later of its `validFrom` and the time it was registered.
 *
 * Why registration bounds it: `validFrom` is the operator's word and may be set in the past. An attestation received
 * before its key was in the registry was not trusted when it arrived, so a key registered later with a back-dated
 * `validFrom` must not reach back and make it count (trust granted after the fact). The received time is recorded by
 * the service and the registration time by the registry, so neither the key holder nor the operator moves it earlier.
 */
export function effectiveValidFrom(record: Pick<RegisteredKeyRecord, 'validFrom' | 'registeredAt'>): string {
  const from = Date.parse(isoTime(record.validFrom));
  const registered = Date.parse(isoTime(record.registeredAt));
  // Fails closed: a time that does not parse would otherwise drop out of the maximum.
  if (Number.isNaN(from) || Number.isNaN(registered)) throw new Error('verifier key record: validFrom and registeredAt must be timestamps');
  return new Date(Math.max(from, registered)).toISOString();
}

/**
 * The key as attestations are judged against it, by the service and by `recheck` alike: valid from
 * `effectiveValidFrom`. A key whose validity ended before it was registered keeps an empty window (validUntil =
 * validFrom), so what it signed is refused as not yet valid or expired, never counted, and never mistaken for an
 * unknown key. Throws a ZodError on a malformed record, as `toVerifierKey` does.
 */
export function toEffectiveVerifierKey(record: RegisteredKeyRecord): VerifierKey {
  const key = toVerifierKey(record);
  const validFrom = effectiveValidFrom(record);
  const ended = key.validUntil !== null && Date.parse(key.validUntil) <= Date.parse(validFrom);
  return { ...key, validFrom, validUntil: ended ? validFrom : key.validUntil };
}

/** The registry as attestations are judged against it: every record through `toEffectiveVerifierKey`. */
export function toEffectiveRegistry(records: readonly RegisteredKeyRecord[]): VerifierKey[] {
  return records.map(toEffectiveVerifierKey);
}

function isoTime(t: Date | string): string {
  return t instanceof Date ? t.toISOString() : t;
}
