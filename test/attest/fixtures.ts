// Shared fixtures for the attestation tests: deterministic keys, a signed claim, a registry, a policy, statements.
import { createHash } from 'node:crypto';
import { toHex } from '../../src/attest/bytes.ts';
import { claimIdOf, signClaim, type ClaimPayload } from '../../src/attest/claim.ts';
import { ed25519PublicKey } from '../../src/attest/ed25519.ts';
import { fromBase64 } from '../../src/attest/bytes.ts';
import { taskPolicySchema, type TaskPolicy } from '../../src/attest/policy.ts';
import type { VerifierKey } from '../../src/attest/registry.ts';
import { buildReplayStatement, type ReplayResultPredicate, type ReplayStatement } from '../../src/attest/statement.ts';

export function keyFromLabel(label: string) {
  const secretKey = Uint8Array.from(createHash('sha256').update(`proofboard-test-key:${label}`).digest());
  const publicKey = ed25519PublicKey(secretKey);
  return { secretKey, publicKey, publicKeyHex: toHex(publicKey) };
}

export const sha = (label: string) => createHash('sha256').update(label).digest('hex');

export const submitter = keyFromLabel('submitter');
export const alice = keyFromLabel('verifier-alice');
export const bob = keyFromLabel('verifier-bob');
export const carol = keyFromLabel('verifier-carol');
export const mallory = keyFromLabel('not-registered');

export const COMMIT = 'a'.repeat(40);
export const PARENT = 'b'.repeat(40);
export const TASK = 'nanogpt-speedrun';

export const claim: ClaimPayload = {
  v: 1,
  task: TASK,
  commit: COMMIT,
  parent: PARENT,
  beatsParent: false,
  metric: { name: 'val_loss', value: 3.28 },
  submitter: submitter.publicKeyHex,
  createdAt: '2026-11-20T10:00:00Z',
  bundle: `sha256:${sha('bundle')}`,
};
export const claimEnvelope = signClaim(claim, submitter.secretKey);
export const CLAIM_ID = claimIdOf(fromBase64(claimEnvelope.payload, 'payload'));

export const T0 = new Date('2026-11-01T00:00:00Z');
export const RECEIVED = new Date('2026-11-21T12:00:00Z');
export const NOW = new Date('2026-11-22T00:00:00Z');

export function verifierKey(id: string, key: { publicKeyHex: string }, overrides: Partial<VerifierKey> = {}): VerifierKey {
  return {
    id,
    name: `operator ${id}`,
    // Each fixture key its own operator unless a test says otherwise.
    operator: id,
    publicKey: key.publicKeyHex,
    validFrom: T0.toISOString(),
    validUntil: null,
    revokedAt: null,
    revocationReason: null,
    tasks: [TASK],
    ...overrides,
  };
}

export const registry: VerifierKey[] = [verifierKey('alice', alice), verifierKey('bob', bob), verifierKey('carol', carol)];

export const policy: TaskPolicy = taskPolicySchema.parse({
  quorum: 2,
  direction: 'lower',
  tolerance: { absolute: 0.01 },
  runs: 3,
  seeds: [1, 2, 3],
  beatsParent: { test: 'welch-t', alpha: 0.05 },
});

export function predicate(values: number[] = [3.281, 3.279, 3.283], overrides: Partial<ReplayResultPredicate> = {}): ReplayResultPredicate {
  return {
    task: TASK,
    claimId: CLAIM_ID,
    metric: 'val_loss',
    runs: values.map((value, i) => ({ seed: i + 1, value })),
    environment: {
      gpu: { model: 'NVIDIA H100 80GB HBM3', count: 8 },
      driver: '550.54.15',
      runtimes: { python: '3.12.3', torch: '2.5.1', cuda: '12.4' },
      runnerVersion: 'proofboard-verifier/0.1.0',
      harnessSha256: sha('harness'),
      datasetSha256: sha('dataset'),
      sandboxProfileSha256: sha('sandbox-profile'),
    },
    startedAt: '2026-11-21T09:00:00Z',
    finishedAt: '2026-11-21T11:00:00Z',
    ...overrides,
  };
}

export function statement(values?: number[], overrides: Partial<ReplayResultPredicate> = {}, commit = COMMIT): ReplayStatement {
  return buildReplayStatement({ commit, modelSha256: sha('model'), predicate: predicate(values, overrides) });
}
