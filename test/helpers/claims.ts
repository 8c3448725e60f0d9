// Builders for signed claims and their bundles in tests.
import { createHash } from 'node:crypto';
import { claimIdOf, signClaim, type ClaimPayload } from '../../src/attest/claim.ts';
import { mineStamp } from '../../src/attest/stamp.ts';
import { toHex } from '../../src/attest/bytes.ts';
import { generateEd25519Key } from '../../src/attest/ed25519.ts';
import type { Api } from '../../src/api/app.ts';

export type TestKey = { publicKey: Uint8Array; secretKey: Uint8Array; hex: string };

export function newKey(): TestKey {
  const k = generateEd25519Key();
  return { ...k, hex: toHex(k.publicKey) };
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function claimPayload(key: TestKey, over: Partial<ClaimPayload> = {}): ClaimPayload {
  return {
    v: 1,
    task: 'digits-mlp',
    commit: 'c'.repeat(40),
    parent: null,
    beatsParent: false,
    metric: { name: 'correct', value: 90 },
    submitter: key.hex,
    createdAt: '2026-11-27T08:00:00.000Z',
    bundle: `sha256:${sha256Hex('bundle')}`,
    ...over,
  };
}

export function signedClaim(key: TestKey, over: Partial<ClaimPayload> = {}) {
  return signClaim(claimPayload(key, over), key.secretKey);
}

export async function putBlob(app: Api, bytes: Uint8Array | string) {
  const body = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  return app.request(`/v1/blobs/sha256:${sha256Hex(body)}`, {
    method: 'PUT',
    body: body as unknown as BodyInit,
    headers: { 'content-type': 'application/octet-stream' },
  });
}

export function postJson(app: Api, path: string, body: unknown, headers: Record<string, string> = {}) {
  return app.request(path, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/** The POST /v1/claims body for a replay-bound claim, with a stamp mined at the task's current difficulty. */
export async function stampedClaimBody(app: Api, envelope: ReturnType<typeof signClaim>, evidence: unknown[] = []) {
  const payload = Buffer.from(envelope.payload, 'base64');
  const task = JSON.parse(payload.toString('utf8')).task as string;
  const res = await app.request(`/v1/tasks/${task}`);
  const bits = res.status === 200 ? ((await res.json()) as { stamp: { bits: number } }).stamp.bits : 0;
  return { claim: envelope, evidence, stamp: mineStamp(claimIdOf(payload), bits).stamp };
}
