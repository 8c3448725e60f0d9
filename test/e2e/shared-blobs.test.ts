// Several machines, one board (issue 19): two API processes with separate data folders on one PostgreSQL. A bundle
// uploaded to one is served by the other byte for byte, is already there when uploaded again, and the replay job of
// a claim submitted to the first is leased and completed through the second, whose verifier fetches the bundle from
// it. Needs PostgreSQL (PGlite is one process per data folder).
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWorkerRequest, newWorkerInstanceId } from '../../src/attest/worker-request.ts';
import { createPostgresDatabase, databaseKinds } from '../helpers/databases.ts';
import { startServer, type ServerProcess } from '../helpers/processes.ts';
import { attestation, keyFrom, LOG_SEED_HEX, OPERATOR_TOKEN, randomCommit, registerVerifier, submitForReplay, TASK } from './recheck-helpers.ts';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

const post = async (server: string, path: string, body: unknown) => {
  const res = await fetch(new URL(path, server), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
};

describe.runIf(databaseKinds().includes('postgres'))('two API processes on one PostgreSQL share their blobs', () => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  let a: ServerProcess;
  let b: ServerProcess;

  beforeAll(async () => {
    const pg = await createPostgresDatabase();
    cleanups.push(pg.drop);
    const start = async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'proofboard-shared-'));
      cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
      const s = await startServer({
        PORT: String(await freePort()),
        PROOFBOARD_DATA: dataDir,
        DATABASE_URL: pg.url,
        PROOFBOARD_OPERATOR_TOKEN: OPERATOR_TOKEN,
        PROOFBOARD_LOG_KEY: LOG_SEED_HEX,
        PROOFBOARD_LOG_ORIGIN: 'shared-blobs.proofboard/log',
      });
      cleanups.push(() => s.stop());
      return s;
    };
    a = await start();
    b = await start();
  }, 180_000);
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('a blob uploaded to one process is served by the other, and is stored once', async () => {
    // Three chunks and a bit in the database (1 MiB each): the stream crosses chunk boundaries.
    const bytes = new Uint8Array(3 * (1 << 20) + 4321).map((_, i) => (i * 7919) % 251);
    const digest = createHash('sha256').update(bytes).digest('hex');
    const put = (server: string) => fetch(`${server}/v1/blobs/sha256:${digest}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
    expect((await put(a.url)).status).toBe(201);
    const got = await fetch(`${b.url}/v1/blobs/sha256:${digest}`);
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true);
    // Already there for the second process: 200, not 201.
    expect((await put(b.url)).status).toBe(200);
  }, 60_000);

  it('a claim submitted to one process is replayed through the other, which serves its bundle', async () => {
    const verifier = keyFrom('shared-verifier');
    await registerVerifier(a.url, 'shared-verifier', verifier);
    const commit = randomCommit();
    const claim = await submitForReplay(a.url, keyFrom('shared-submitter'), commit, 93);
    expect(claim.status).toBe('pending');

    // The verifier talks only to B: it leases the job there and fetches the bundle the claim names from there.
    const worker = newWorkerInstanceId();
    type Leased = { jobId: number; claim: { id: string; bundle: string } } | null;
    let job: Leased = null;
    for (let i = 0; i < 10 && job?.claim.id !== claim.id; i++) {
      const leased = await post(b.url, '/v1/replay/lease', { request: signWorkerRequest(verifier.secretKey, { action: 'lease', worker, tasks: [TASK] }) });
      expect(leased.status).toBe(200);
      job = leased.json.job as Leased;
      if (!job) break;
    }
    if (!job || job.claim.id !== claim.id) throw new Error('the job was not leased through B');
    const bundle = await fetch(`${b.url}/v1/blobs/${job.claim.bundle}`);
    expect(bundle.status).toBe(200);
    const bundleBytes = new Uint8Array(await bundle.arrayBuffer());
    expect(`sha256:${createHash('sha256').update(bundleBytes).digest('hex')}`).toBe(job.claim.bundle);

    const done = await post(b.url, `/v1/replay/jobs/${job.jobId}/complete`, {
      request: signWorkerRequest(verifier.secretKey, { action: 'complete', worker, jobId: job.jobId }),
      attestation: attestation(claim.id, commit, 93, verifier),
    });
    expect(done.status, JSON.stringify(done.json)).toBe(200);
    const seenByA = (await (await fetch(`${a.url}/v1/claims/${claim.id}`)).json()) as { status: string };
    expect(seenByA.status).toBe('verified');
  }, 120_000);
});
