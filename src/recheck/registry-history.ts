// The verifier registry over time, as this machine saw it. A key that appears with a registration time before our
// previous visit, or whose validity or public key changed, was added or edited after the fact: the registry is
// the server's word, and this is the only memory a third party has of what it said before.
import { fail, pass, skip, type Check } from './report.ts';
import type { BundleVerifierKey } from './bundle.ts';
import type { RegistrySnapshot } from './state-file.ts';

export function snapshotRegistry(keys: readonly BundleVerifierKey[]): RegistrySnapshot {
  return Object.fromEntries(keys.map((k) => [k.id, { publicKey: k.publicKey, validFrom: k.validFrom, registeredAt: k.registeredAt }]));
}

export function checkRegistryHistory(
  keys: readonly BundleVerifierKey[],
  before: RegistrySnapshot | undefined,
  seenAt: string | undefined,
): Check {
  const id = 'registry.history';
  if (!before || !seenAt) return skip(id, 'first visit: the registry is remembered for next time');
  const now = snapshotRegistry(keys);
  const problems: string[] = [];
  for (const [keyId, k] of Object.entries(now)) {
    const old = before[keyId];
    if (!old) {
      if (Date.parse(k.registeredAt) <= Date.parse(seenAt) || Date.parse(k.validFrom) <= Date.parse(seenAt)) {
        problems.push(`verifier key ${keyId} added after the fact: absent at our visit of ${seenAt}, yet registered ${k.registeredAt}, valid from ${k.validFrom}`);
      }
    } else if (old.publicKey !== k.publicKey || old.validFrom !== k.validFrom || old.registeredAt !== k.registeredAt) {
      problems.push(`verifier key ${keyId} was edited: ${JSON.stringify(old)} became ${JSON.stringify(k)}`);
    }
  }
  for (const keyId of Object.keys(before)) {
    if (!now[keyId]) problems.push(`verifier key ${keyId} vanished from the registry (keys are revoked, never deleted)`);
  }
  return problems.length ? fail(id, problems.join('; ')) : pass(id, `registry consistent with our visit of ${seenAt}`);
}
