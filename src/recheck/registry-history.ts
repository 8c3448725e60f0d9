// The verifier registry over time, as this machine saw it. The registry is the server's word, and this is the only
// memory a third party has of what it said before: a key that appears with a registration time before our previous
// visit, a key whose public key, registration or start of validity moved, a validity extended after it had ended, a
// revocation cleared, weakened or moved later, or a key that vanished, is trust granted or restored after the fact.
import { defaultOperatorId, effectiveValidFrom } from '../attest/registry.ts';
import { fail, pass, skip, warn, type Check } from './report.ts';
import type { BundleVerifierKey } from './bundle.ts';
import type { RegistrySnapshot } from './state-file.ts';

type Remembered = RegistrySnapshot[string];

export function snapshotRegistry(keys: readonly BundleVerifierKey[]): RegistrySnapshot {
  return Object.fromEntries(
    keys.map((k) => [
      k.id,
      {
        publicKey: k.publicKey,
        validFrom: k.validFrom,
        registeredAt: k.registeredAt,
        validUntil: k.validUntil,
        revokedAt: k.revokedAt,
        revocationReason: k.revocationReason,
        tasks: [...k.tasks].sort(),
        // As judged: a server that names no operators counts each key as its own, as its migration does.
        operator: k.operator ?? defaultOperatorId(k.id),
      },
    ]),
  );
}

/**
 * Compares the registry the server shows now with the one remembered from the visit at `seenAt`. A field missing from
 * the remembered entry (a state file written before recheck kept it) is not compared: it is remembered from this run.
 */
export function checkRegistryHistory(
  keys: readonly BundleVerifierKey[],
  before: RegistrySnapshot | undefined,
  seenAt: string | undefined,
  now: Date,
): Check {
  const id = 'registry.history';
  if (!before || !seenAt) return skip(id, 'first visit: the registry is remembered for next time');
  const current = snapshotRegistry(keys);
  const problems: string[] = [];
  const notes: string[] = [];
  for (const [keyId, k] of Object.entries(current)) {
    const old = before[keyId];
    if (!old) {
      // A key counts from its registration (effectiveValidFrom), so only a registration time we could not have missed
      // reaches back; a back-dated validFrom alone no longer does.
      if (Date.parse(k.registeredAt) <= Date.parse(seenAt)) {
        problems.push(`verifier key ${keyId} added after the fact: absent at our visit of ${seenAt}, yet registered ${k.registeredAt}`);
      }
      continue;
    }
    problems.push(...keyEdits(keyId, old, k, now));
    const added = old.tasks ? (k.tasks ?? []).filter((t) => !old.tasks!.includes(t)) : [];
    // Reported, not failed: an operator may trust a key for one more task. The server records no time for it, so
    // attestations it received earlier for that task count from now on.
    if (added.length) notes.push(`verifier key ${keyId} became trusted for task(s) ${added.join(', ')} since our visit of ${seenAt}`);
  }
  for (const keyId of Object.keys(before)) {
    if (!current[keyId]) problems.push(`verifier key ${keyId} vanished from the registry (keys are revoked, never deleted)`);
  }
  if (problems.length) return fail(id, problems.join('; '));
  if (notes.length) return warn(id, notes.join('; '));
  return pass(id, `registry consistent with our visit of ${seenAt}`);
}

/** What changed in one key's record that widens the trust it had at our last visit. */
function keyEdits(keyId: string, old: Remembered, k: Remembered, now: Date): string[] {
  const edits: string[] = [];
  const was = (field: string, a: unknown, b: unknown) => `verifier key ${keyId} was edited: ${field} ${JSON.stringify(a)} became ${JSON.stringify(b)}`;
  if (old.publicKey !== k.publicKey) edits.push(was('publicKey', old.publicKey, k.publicKey));
  if (old.registeredAt !== k.registeredAt) edits.push(was('registeredAt', old.registeredAt, k.registeredAt));
  // The service never changes a key's operator: a change re-counts every quorum the key is in.
  if (old.operator !== undefined && old.operator !== k.operator) edits.push(was('operator', old.operator, k.operator));
  // Compared as judged: a validFrom that stays at or before the registration changes nothing.
  if (!(startOf(k) >= startOf(old))) edits.push(was('validFrom', old.validFrom, k.validFrom));
  if (old.validUntil !== undefined && old.validUntil !== null && Date.parse(old.validUntil) <= now.getTime()) {
    if (k.validUntil === null || k.validUntil === undefined || Date.parse(k.validUntil) > Date.parse(old.validUntil)) {
      edits.push(`${was('validUntil', old.validUntil, k.validUntil)}, extending a validity that had already ended`);
    }
  }
  if (old.revokedAt !== undefined && old.revokedAt !== null) {
    if (!k.revokedAt) edits.push(`verifier key ${keyId} had its revocation cleared: revoked ${old.revocationReason} at ${old.revokedAt}, now not revoked`);
    else if (k.revocationReason !== 'compromised') {
      if (old.revocationReason === 'compromised') edits.push(`verifier key ${keyId} had its revocation weakened from compromised to ${k.revocationReason}`);
      else if (Date.parse(k.revokedAt) > Date.parse(old.revokedAt)) edits.push(`verifier key ${keyId} had its retirement moved later, from ${old.revokedAt} to ${k.revokedAt}`);
    }
  }
  return edits;
}

/** When the key starts to count, as attestations are judged; NaN for a time that does not parse (then flagged). */
function startOf(r: Remembered): number {
  try {
    return Date.parse(effectiveValidFrom(r));
  } catch {
    return Number.NaN;
  }
}
