// Client-side steps of a replay test, spoken over real HTTP so they work against an in-process app served on a
// port and against a `proofboard serve` child process alike: register a task and a verifier key (operator),
// upload a bundle and submit a stamped claim (submitter), and read the claim back.
import { claimIdOf, signClaim } from '../../src/attest/claim.ts';
import { mineStamp } from '../../src/attest/stamp.ts';
import type { PackReplaySpec } from '../../src/attest/task-pack.ts';
import { exampleTask } from '../../src/service/example-task.ts';
import { logOrigin, sha256Hex, withIntake, type TestKey } from '../helpers/claims.ts';

export type ReplayLimits = { wallTimeMs?: number; memoryBytes?: number; cpuSeconds?: number; diskBytes?: number };

export type ClaimView = {
  id: string;
  status: string;
  method: string | null;
  reasonCode: string | null;
  verdict: { rule: string } | null;
  history: { status: string; reasonCode: string | null; rule: string }[];
  evidence: { kind: string; digest: string }[];
  replay: { kind: string; state: string; attempts: number }[];
};

// A fresh connection per request: the tests block the event loop with synchronous git between requests, and a
// kept-alive socket that the server closes meanwhile would reset a non-idempotent PUT or POST, which is not retried.
const FRESH = { connection: 'close' };

async function request(url: string, path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const { json, ...rest } = init;
  return fetch(new URL(path, url), {
    ...rest,
    ...(json === undefined ? {} : { body: JSON.stringify(json) }),
    headers: { 'content-type': 'application/json', ...FRESH, ...(rest.headers as Record<string, string> | undefined) },
  });
}

async function expectStatus(res: Response, status: number, what: string): Promise<unknown> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`${what}: HTTP ${res.status}: ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : null;
}

/**
 * A test task scored by the digits pack's harness (examples/digits/pack, whose files the server stored when it seeded
 * the example task), with one run, exact agreement, no stamp work and its own limits. `train` is the sandbox argv (the
 * commit's tree is at /input); `--seed {seed}` is added when it does not pass the seed, as a pack-form task must.
 */
export async function registerReplayTask(url: string, token: string, id: string, train: string[], limits: ReplayLimits = {}) {
  const spec = exampleTask.replay as PackReplaySpec;
  const body = {
    id,
    title: `test task ${id}`,
    metricName: 'correct',
    direction: 'higher',
    policy: { quorum: 1, direction: 'higher', tolerance: { absolute: 0 }, runs: 1 },
    stampBaseBits: 0,
    replay: { ...spec, train: train.some((a) => a.includes('{seed}')) ? train : [...train, '--seed', '{seed}'], limits },
    pack: exampleTask.pack,
  };
  await expectStatus(await request(url, '/v1/tasks', { method: 'POST', json: body, headers: { authorization: `Bearer ${token}` } }), 201, `register task ${id}`);
}

export async function trustVerifier(url: string, token: string, key: TestKey, tasks: string[]) {
  const body = { name: `worker-${key.hex.slice(0, 8)}`, operator: `worker-${key.hex.slice(0, 8)}`, publicKey: key.hex, tasks };
  await expectStatus(await request(url, '/v1/verifier-keys', { method: 'POST', json: body, headers: { authorization: `Bearer ${token}` } }), 201, 'trust verifier key');
}

/** Uploads the bundle, signs the claim and mines a stamp at the task's current difficulty; returns the claim id. */
export async function submitReplayClaim(url: string, submitter: TestKey, claim: { task: string; commit: string; bundle: Buffer; value: number }) {
  const digest = sha256Hex(claim.bundle);
  const put = await fetch(new URL(`/v1/blobs/sha256:${digest}`, url), {
    method: 'PUT',
    body: claim.bundle as unknown as BodyInit,
    headers: { 'content-type': 'application/octet-stream', ...FRESH },
  });
  if (put.status !== 200 && put.status !== 201) throw new Error(`upload bundle: HTTP ${put.status}: ${await put.text()}`);
  const envelope = signClaim(
    {
      v: 1,
      task: claim.task,
      commit: claim.commit,
      parent: null,
      beatsParent: false,
      metric: { name: 'correct', value: claim.value },
      submitter: submitter.hex,
      createdAt: new Date().toISOString(),
      bundle: `sha256:${digest}`,
    },
    submitter.secretKey,
  );
  const task = (await expectStatus(await request(url, `/v1/tasks/${claim.task}`), 200, 'read task')) as { stamp: { bits: number } };
  const claimId = claimIdOf(Buffer.from(envelope.payload, 'base64'));
  const body = withIntake({ claim: envelope, evidence: [], stamp: mineStamp(claimId, task.stamp.bits).stamp }, submitter, await logOrigin(url));
  const created = (await expectStatus(await request(url, '/v1/claims', { method: 'POST', json: body }), 202, 'submit claim')) as { id: string };
  return created.id;
}

export async function readClaim(url: string, id: string): Promise<ClaimView> {
  return (await expectStatus(await request(url, `/v1/claims/${id}`), 200, `read claim ${id}`)) as ClaimView;
}

export async function isHealthy(url: string): Promise<boolean> {
  const res = await fetch(new URL('/healthz', url), { headers: FRESH }).catch(() => null);
  return res?.status === 200;
}

/** Polls until `check` holds; the test's own timeout bounds the wait, so no deadline of its own. */
export async function waitFor<T>(what: string, probe: () => Promise<T>, check: (value: T) => boolean, pollMs = 250): Promise<T> {
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined && check(value)) return value;
    await new Promise((r) => setTimeout(r, pollMs));
    if (process.env.PROOFBOARD_TEST_TRACE) console.error(`waiting for ${what}`);
  }
}
