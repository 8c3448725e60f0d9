// Builders for signed claims and their bundles in tests.
import { createHash } from 'node:crypto';
import { claimIdOf, signClaim, type ClaimPayload } from '../../src/attest/claim.ts';
import { signIntake } from '../../src/attest/intake.ts';
import { evidenceDigest } from '../../src/verdict/evidence-digest.ts';
import type { DsseEnvelope } from '../../src/attest/dsse.ts';
import { mineStamp } from '../../src/attest/stamp.ts';
import { toHex } from '../../src/attest/bytes.ts';
import { generateEd25519Key } from '../../src/attest/ed25519.ts';
import type { Api } from '../../src/api/app.ts';
import { syntheticPool, type SyntheticCommit } from './git-objects.ts';

export type TestKey = { publicKey: Uint8Array; secretKey: Uint8Array; hex: string };

export function newKey(): TestKey {
  const k = generateEd25519Key();
  return { ...k, hex: toHex(k.publicKey) };
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The bundle of claimPayload's defaults: real commits in a real bundle (intake refuses a claim whose bundle does not
 * hold its commit). DEFAULT_COMMIT.commit is the default claim's commit; poolCommit(i) gives 1,024 more in the same
 * bundle. Upload it with `putBlob(app, DEFAULT_COMMIT.bundle)` before posting.
 */
const DEFAULT_POOL = syntheticPool('default', 1025);
export const DEFAULT_COMMIT = { commit: DEFAULT_POOL.commits[0]!, bundle: DEFAULT_POOL.bundle, bundleRef: DEFAULT_POOL.bundleRef };

/** The i-th (0-1023) distinct commit in DEFAULT_COMMIT's bundle, for claims that need a commit of their own. */
export function poolCommit(i: number): string {
  const c = DEFAULT_POOL.commits[i + 1];
  if (c === undefined) throw new Error(`poolCommit(${i}): the default bundle holds 1024 commits`);
  return c;
}

/** The claim fields naming a synthetic commit, its bundle and (given) its parent. Upload c.bundle first. */
export function onCommit(c: SyntheticCommit, parent?: SyntheticCommit): Pick<ClaimPayload, 'commit' | 'bundle'> & Partial<Pick<ClaimPayload, 'parent'>> {
  return { commit: c.commit, bundle: c.bundleRef, ...(parent ? { parent: parent.commit } : {}) };
}

export function claimPayload(key: TestKey, over: Partial<ClaimPayload> = {}): ClaimPayload {
  return {
    v: 1,
    task: 'digits-mlp',
    commit: DEFAULT_COMMIT.commit,
    parent: null,
    beatsParent: false,
    metric: { name: 'correct', value: 90 },
    submitter: key.hex,
    createdAt: '2026-11-27T08:00:00.000Z',
    bundle: DEFAULT_COMMIT.bundleRef,
    ...over,
  };
}

/** The secret key behind each envelope signedClaim made, so withIntake can sign for its submitter unasked. */
const signers = new WeakMap<object, Uint8Array>();

export function signedClaim(key: TestKey, over: Partial<ClaimPayload> = {}) {
  const envelope = signClaim(claimPayload(key, over), key.secretKey);
  signers.set(envelope, key.secretKey);
  return envelope;
}

export async function putBlob(app: Api, bytes: Uint8Array | string) {
  const body = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  return app.request(`/v1/blobs/sha256:${sha256Hex(body)}`, {
    method: 'PUT',
    body: body as unknown as BodyInit,
    headers: { 'content-type': 'application/octet-stream' },
  });
}

/** Uploads a synthetic commit's bundle and gives the claim fields naming it (and its parent, when given). */
export async function putCommit(app: Api, c: SyntheticCommit, parent?: SyntheticCommit) {
  const res = await putBlob(app, c.bundle);
  if (res.status !== 200 && res.status !== 201) throw new Error(`PUT bundle of ${c.commit}: HTTP ${res.status}`);
  return onCommit(c, parent);
}

export function postJson(app: Api, path: string, body: unknown, headers: Record<string, string> = {}) {
  return app.request(path, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/** The log origin of the test context (test/helpers/context.ts): the audience every test intake names. */
export const TEST_LOG_ORIGIN = 'test.proofboard/log';
/** The origin `serve` uses when PROOFBOARD_LOG_ORIGIN is unset (src/config.ts): the audience for real servers in e2e tests. */
export const DEFAULT_LOG_ORIGIN = 'proofboard.local/log';

type ClaimBody = { claim: DsseEnvelope; evidence?: unknown[]; stamp?: unknown };

/**
 * Adds the submitter's intake envelope (src/attest/intake.ts) to a POST /v1/claims body: it binds the claim's id, the
 * digests of exactly this evidence and the log's origin. `signer` is the submitter's secret key (or a key holding it).
 */
export function withIntake<B extends ClaimBody>(body: B, signer?: Uint8Array | { secretKey: Uint8Array }, audience = TEST_LOG_ORIGIN): B & { intake: DsseEnvelope } {
  const secretKey = signer === undefined ? signers.get(body.claim) : signer instanceof Uint8Array ? signer : signer.secretKey;
  if (!secretKey) throw new Error('withIntake: pass the submitter key (the envelope was not made by signedClaim)');
  const claimId = claimIdOf(Buffer.from(body.claim.payload, 'base64'));
  const submitter = body.claim.signatures[0]!.keyid!;
  const evidence = (body.evidence ?? []).map((item) => evidenceDigest(item));
  return { ...body, intake: signIntake({ claimId, audience, evidence }, secretKey, submitter) };
}

/** withIntake where the body is one signedClaim made; anything else (hostile bodies, strings) is sent as it is. */
export function withIntakeIfKnown(body: unknown): unknown {
  const claim = (body as { claim?: unknown } | null)?.claim;
  return typeof claim === 'object' && claim !== null && signers.has(claim) ? withIntake(body as ClaimBody) : body;
}

/** The POST /v1/claims body for a replay-bound claim, with a stamp mined at the task's current difficulty. */
export async function stampedClaimBody(app: Api, key: Uint8Array | { secretKey: Uint8Array }, envelope: DsseEnvelope, evidence: unknown[] = []) {
  const payload = Buffer.from(envelope.payload, 'base64');
  const task = JSON.parse(payload.toString('utf8')).task as string;
  const res = await app.request(`/v1/tasks/${task}`);
  const bits = res.status === 200 ? ((await res.json()) as { stamp: { bits: number } }).stamp.bits : 0;
  return withIntake({ claim: envelope, evidence, stamp: mineStamp(claimIdOf(payload), bits).stamp }, key);
}

/** The log origin of a running server (GET /v1/log/key): the audience an intake for it must name. */
export async function logOrigin(serverUrl: string): Promise<string> {
  const res = await fetch(new URL('/v1/log/key', serverUrl));
  if (res.status !== 200) throw new Error(`GET /v1/log/key: HTTP ${res.status}`);
  return ((await res.json()) as { origin: string }).origin;
}
