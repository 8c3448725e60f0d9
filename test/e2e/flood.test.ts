// A flood against the real server: a thousand fresh keys cannot fill the replay queue for free. Claims without a
// stamp, or with one below the published difficulty, are refused with their code and the queue stays empty; with
// valid stamps they are queued. Per-key and per-address limits answer 429 with Retry-After, and hold across two API
// processes sharing one PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimIdOf, signClaim } from '../../src/attest/claim.ts';
import { mineStamp, stampBits } from '../../src/attest/stamp.ts';
import { exampleTask } from '../../src/service/example-task.ts';
import { difficultyFor } from '../../src/service/storage/stamps.ts';
import { databaseKinds, createPostgresDatabase } from '../helpers/databases.ts';
import { startServer, type ServerProcess } from '../helpers/processes.ts';
import { poolCommit, DEFAULT_COMMIT, claimPayload, DEFAULT_LOG_ORIGIN, newKey, sha256Hex, withIntake } from '../helpers/claims.ts';

const TOKEN = 'flood-operator-token-0123456789abcdef';
const N = 1000;

async function json(res: Response) {
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { error?: { code: string }; id?: string } };
}

describe.each(databaseKinds())('flood of fresh keys against the real server on %s', (kind) => {
  const cleanups: (() => Promise<void> | void)[] = [];
  let server: ServerProcess;
  const env: Record<string, string> = { PROOFBOARD_OPERATOR_TOKEN: TOKEN, PROOFBOARD_REQUESTS_PER_ADDRESS_PER_MINUTE: '100000' };
  // A real git bundle holding the claims' commits (intake checks that it holds each claim's commit).
  const bundle = Buffer.from(DEFAULT_COMMIT.bundle);

  beforeAll(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'proofboard-flood-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    env.PROOFBOARD_DATA = dataDir;
    if (kind === 'postgres') {
      const pg = await createPostgresDatabase();
      env.DATABASE_URL = pg.url;
      cleanups.push(pg.drop);
    }
    server = await startServer(env);
    cleanups.push(async () => void (await server.stop()));
    const task = { ...exampleTask, id: 'flood', stampBaseBits: 6, auditFraction: 0, evalSetCommitment: null };
    const created = await fetch(`${server.url}/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(task) });
    expect(created.status).toBe(201);
    expect((await fetch(`${server.url}/v1/blobs/sha256:${sha256Hex(bundle)}`, { method: 'PUT', body: bundle })).status).toBe(201);
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  const stamp = async () => ((await (await fetch(`${server.url}/v1/tasks/flood`)).json()) as { stamp: { bits: number; baseBits: number; queueDepth: number } }).stamp;
  const post = (body: unknown) => fetch(`${server.url}/v1/claims`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(json);
  function freshClaims(tag: string) {
    return Array.from({ length: N }, (_, i) => {
      const key = newKey();
      const envelope = signClaim(claimPayload(key, { task: 'flood', bundle: `sha256:${sha256Hex(bundle)}` }), key.secretKey);
      return { envelope, key, id: claimIdOf(Buffer.from(envelope.payload, 'base64')) };
    });
  }
  async function inBatches<T>(items: T[], f: (t: T) => Promise<void>) {
    for (let i = 0; i < items.length; i += 25) await Promise.all(items.slice(i, i + 25).map(f));
  }

  it(`refuses ${N} unstamped and ${N} under-stamped claims, queues ${N} stamped ones`, { timeout: 900_000 }, async () => {
    const start = await stamp();
    expect(start).toEqual({ bits: 6, baseBits: 6, queueDepth: 0 });

    await inBatches(freshClaims('bare'), async (c) => {
      const r = await post(withIntake({ claim: c.envelope, evidence: [] }, c.key, DEFAULT_LOG_ORIGIN));
      expect(r.status).toBe(428);
      expect(r.body.error?.code).toBe('stamp_required');
    });
    expect((await stamp()).queueDepth).toBe(0);

    await inBatches(freshClaims('weak'), async (c) => {
      let n = 0;
      while (stampBits(c.id, { nonce: n.toString(16) }) >= start.bits) n++;
      const r = await post(withIntake({ claim: c.envelope, evidence: [], stamp: { nonce: n.toString(16) } }, c.key, DEFAULT_LOG_ORIGIN));
      expect(r.status).toBe(422);
      expect(r.body.error?.code).toBe('bad_stamp');
    });
    expect((await stamp()).queueDepth).toBe(0);

    const stamped = freshClaims('stamped');
    const first = stamped[0]!;
    const firstStamp = mineStamp(first.id, start.bits).stamp;
    expect((await post(withIntake({ claim: first.envelope, evidence: [], stamp: firstStamp }, first.key, DEFAULT_LOG_ORIGIN))).status).toBe(202);
    // The difficulty rises as they queue: senders mine at what the task will ask once their own batch is queued.
    for (let i = 1; i < stamped.length; i += 25) {
      const now = await stamp();
      const bits = difficultyFor(now.baseBits, now.queueDepth + 25) - 1;
      await Promise.all(
        stamped.slice(i, i + 25).map(async (c) => {
          const r = await post(withIntake({ claim: c.envelope, evidence: [], stamp: mineStamp(c.id, bits + 1).stamp }, c.key, DEFAULT_LOG_ORIGIN));
          expect(r.status, JSON.stringify(r.body)).toBe(202);
        }),
      );
    }
    const full = await stamp();
    expect(full.queueDepth).toBe(N);
    expect(full.bits).toBeGreaterThan(start.bits);

    // A stamp copied from a queued claim onto another claim carries no work for it.
    const other = freshClaims('copy')[0]!;
    let victim = firstStamp;
    if (stampBits(other.id, victim) >= full.bits) victim = { nonce: 'ffffffff' };
    const copied = await post(withIntake({ claim: other.envelope, evidence: [], stamp: victim }, other.key, DEFAULT_LOG_ORIGIN));
    expect(copied.body.error?.code).toBe(stampBits(other.id, victim) >= full.bits ? undefined : 'bad_stamp');
  });

  it('answers 429 with Retry-After past the per-key limit', async () => {
    const key = newKey();
    const { bits } = await stamp();
    const codes: string[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 12; i++) {
      const envelope = signClaim(claimPayload(key, { task: 'flood', commit: poolCommit(i), bundle: `sha256:${sha256Hex(bundle)}` }), key.secretKey);
      const r = await post(withIntake({ claim: envelope, evidence: [], stamp: mineStamp(claimIdOf(Buffer.from(envelope.payload, 'base64')), bits + 1).stamp }, key, DEFAULT_LOG_ORIGIN));
      codes.push(r.status === 202 ? 'ok' : r.body.error!.code);
      if (r.status === 429) retryAfter = r.retryAfter;
    }
    // Ten pending claims per key by default: the eleventh is refused until some are settled.
    expect(codes.slice(0, 10)).toEqual(Array(10).fill('ok'));
    expect(codes.slice(10)).toEqual(['pending_limit', 'pending_limit']);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });
});

describe.skipIf(!process.env.TEST_DATABASE_URL)('limits shared by two API processes on one PostgreSQL', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('counts one address across both processes', async () => {
    const pg = await createPostgresDatabase();
    cleanups.push(pg.drop);
    const servers: ServerProcess[] = [];
    for (let i = 0; i < 2; i++) {
      const dataDir = mkdtempSync(join(tmpdir(), 'proofboard-limits-'));
      cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
      const s = await startServer({ PROOFBOARD_DATA: dataDir, DATABASE_URL: pg.url, PROOFBOARD_OPERATOR_TOKEN: TOKEN, PROOFBOARD_REQUESTS_PER_ADDRESS_PER_MINUTE: '20' });
      cleanups.push(async () => void (await s.stop()));
      servers.push(s);
    }
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const s = servers[i % 2]!;
      const res = await fetch(`${s.url}/v1/claims`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ claim: { payloadType: 'x', payload: '', signatures: [] } }) });
      statuses.push(res.status);
      if (res.status === 429) expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // 20 per minute in all, whichever process answered: each process alone would have allowed 30.
    const limited = statuses.filter((s) => s === 429).length;
    expect(limited).toBeGreaterThanOrEqual(10);
    expect(statuses.slice(0, 20).every((s) => s === 400)).toBe(true);
  });
});
