// Several machines, one board (issue 19): two API processes with separate data folders on one PostgreSQL. A bundle
// uploaded to one is served by the other byte for byte, and is already there when uploaded again. A claim submitted
// with the real CLI to the first is replayed by a real `proofboard verifier` that talks only to the second: it leases
// the job there, downloads the bundle the first stored, trains and scores the commit in the sandbox, and posts its
// signed result there; the first then reports the claim verified by replay with the measured value. Needs PostgreSQL
// (PGlite is one process per data folder), and the sandbox for the replay.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSingleSignerEnvelope } from '../../src/attest/dsse.ts';
import { IN_TOTO_PAYLOAD_TYPE, parseReplayStatement } from '../../src/attest/statement.ts';
import { writeNewKeyFile } from '../../src/cli/key-file.ts';
import { createPostgresDatabase, databaseKinds } from '../helpers/databases.ts';
import { hostScore, makeDigitsRepo } from '../helpers/digits-repo.ts';
import { BIN, cli, ROOT, startServer, type ServerProcess } from '../helpers/processes.ts';
import { sandboxOrSkip } from '../helpers/sandbox-gate.ts';
import { readClaim } from '../replay/replay-http.ts';
import { LOG_SEED_HEX, OPERATOR_TOKEN, registerVerifier, TASK } from './recheck-helpers.ts';

const sandboxReady = await sandboxOrSkip('a claim replayed through a second API process');

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

/** "METHOD /path" of every request the server logged (one pino line per request, src/api/request-log.ts). */
function requestsTo(s: ServerProcess): string[] {
  const seen: string[] = [];
  for (const line of s.output().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { msg?: string; method?: string; path?: string };
      if (entry.msg === 'request') seen.push(`${entry.method} ${entry.path}`);
    } catch {
      // A line cut off at the end of the output so far.
    }
  }
  return seen;
}

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
        // The request log is read back below: which process each request reached.
        LOG_LEVEL: 'info',
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

  it.skipIf(!sandboxReady)('a bundle uploaded to one process is replayed through the other by a real verifier', async () => {
    const repo = makeDigitsRepo();
    cleanups.push(repo.cleanup);
    const keys = mkdtempSync(join(tmpdir(), 'proofboard-shared-keys-'));
    cleanups.push(() => rmSync(keys, { recursive: true, force: true }));
    // The oracle: what seed 0 of this commit scores when trained and scored here, outside any sandbox.
    const real = hostScore(repo.dir);

    const verifierKeyPath = join(keys, 'verifier.json');
    const verifier = writeNewKeyFile(verifierKeyPath, 'proofboard verifier keygen');
    await registerVerifier(a.url, 'shared-verifier', { secretKey: verifier.secretKey, hex: verifier.publicKeyHex });

    // The real CLI uploads the commit's bundle to A and submits the claim there, with no evidence: it goes to replay.
    const submitterKeyPath = join(keys, 'submitter.json');
    writeNewKeyFile(submitterKeyPath);
    const submitted = await cli(['submit', '--server', a.url, '--task', TASK, '--metric', String(real), '--key', submitterKeyPath, '--json'], { cwd: repo.dir });
    expect(submitted.code, submitted.stderr).toBe(0);
    const { id } = JSON.parse(submitted.stdout) as { id: string };
    expect((await readClaim(a.url, id)).status).toBe('pending');

    // The verifier knows only B: it leases the job there, downloads the bundle A stored from there, trains and scores
    // in the sandbox, and posts its signed result there. --once: it stops when it finds the queue empty.
    const worker = spawn(process.execPath, [BIN, 'verifier', '--server', b.url, '--key', verifierKeyPath, '--tasks', TASK, '--once', '--poll-ms', '300'], {
      cwd: ROOT,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let said = '';
    worker.stdout!.on('data', (d) => (said += d));
    worker.stderr!.on('data', (d) => (said += d));
    const exited = new Promise<number | null>((r) => worker.once('exit', (code) => r(code)));
    cleanups.push(async () => {
      if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
      await exited;
    });
    expect(await exited, said).toBe(0);
    expect(said).toContain(`measured ${real} (claimed ${real}): verified`);

    // Read from A: verified by replay, once, on the one attestation the job produced.
    const view = await readClaim(a.url, id);
    expect(view, said).toMatchObject({ status: 'verified', method: 'replayed' });
    expect(view.history).toHaveLength(1);
    expect(view.replay).toEqual([expect.objectContaining({ kind: 'replay', state: 'done', attempts: 1 })]);
    expect(view.evidence.filter((e) => e.kind === 'attestation')).toHaveLength(1);

    // A serves the attestation B received: signed by the trusted verifier key, for this claim and commit, and
    // carrying the value the sandbox measured, which is the host's.
    const recheck = (await (await fetch(`${a.url}/v1/claims/${id}/bundle`)).json()) as { evidence: { kind: string; body: { envelope: unknown; source: string } }[] };
    const [attested] = recheck.evidence.filter((e) => e.kind === 'attestation');
    expect(attested!.body.source).toMatch(/^replay-job:\d+$/);
    const opened = openSingleSignerEnvelope(attested!.body.envelope, IN_TOTO_PAYLOAD_TYPE, { what: 'attestation' });
    if (!opened.ok) throw new Error(`attestation does not open: ${opened.reason}: ${opened.message}`);
    expect(opened.keyid).toBe(verifier.publicKeyHex);
    const parsed = parseReplayStatement(opened.payload);
    if (!parsed.ok) throw new Error(`attestation statement does not parse: ${parsed.message}`);
    expect(parsed.statement.subject[0].digest.gitCommit).toBe(repo.commit);
    expect(parsed.statement.predicate).toMatchObject({ task: TASK, claimId: id, metric: 'correct', runs: [{ seed: 0, value: real }] });

    // From each process's request log: the CLI uploaded the bundle the claim names to A, and B served it to the
    // verifier; every replay request went to B, none to A.
    const { bundle: blob } = (await (await fetch(`${a.url}/v1/claims/${id}`)).json()) as { bundle: string };
    const replayRequests = (s: ServerProcess) => requestsTo(s).filter((r) => r.includes(' /v1/replay/'));
    expect(requestsTo(a)).toEqual(expect.arrayContaining([`PUT /v1/blobs/${blob}`, 'POST /v1/claims']));
    expect(requestsTo(a)).not.toContain(`GET /v1/blobs/${blob}`);
    expect(requestsTo(b)).toContain(`GET /v1/blobs/${blob}`);
    expect(requestsTo(b)).not.toContain(`PUT /v1/blobs/${blob}`);
    expect(replayRequests(a)).toEqual([]);
    expect(replayRequests(b)).toEqual(expect.arrayContaining(['POST /v1/replay/lease', expect.stringMatching(/^POST \/v1\/replay\/jobs\/\d+\/complete$/)]));
  }, 300_000);
});
