// Crashes mid-replay, with real processes: `proofboard serve` and `proofboard verifier` as children of the test.
// A worker SIGKILLed mid-job takes its sandboxed job with it (--die-with-parent) and loses nothing: its lease
// expires and a second worker finishes the job. A server SIGKILLed while a worker holds a lease and restarted on
// the same data loses no job either. Either way the claim gets exactly one verdict and one attestation.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeNewKeyFile } from '../../src/cli/key-file.ts';
import { createPostgresDatabase, databaseKinds } from '../helpers/databases.ts';
import { newKey } from '../helpers/claims.ts';
import { hostScore, makeDigitsRepo } from '../helpers/digits-repo.ts';
import { BIN, ROOT, startServer, type ServerProcess } from '../helpers/processes.ts';
import { processesOfUid } from './hostile.ts';
import { describeSandbox } from './sandbox-gate.ts';
import { readClaim, registerReplayTask, submitReplayClaim, trustVerifier, waitFor, type ClaimView } from './replay-http.ts';

const OPERATOR_TOKEN = 'crash-test-operator-token-0123456789';
// Short enough that a dead worker's job is taken over within seconds; the live worker heartbeats at a third of it.
const LEASE_MS = '4000';

type WorkerProcess = { child: ChildProcess; output: () => string; exited: Promise<void> };

function startWorker(url: string, keyPath: string): WorkerProcess {
  const child = spawn(process.execPath, [BIN, 'verifier', '--server', url, '--key', keyPath, '--poll-ms', '300'], {
    cwd: ROOT,
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { child, output: () => out, exited };
}

/** Host processes whose command line carries `marker`: the job's bwrap, and the job itself inside it. */
function processesWithMarker(marker: string): { pid: number; uid: number }[] {
  const found: { pid: number; uid: number }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (!readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(marker)) continue;
      const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${name}/status`, 'utf8'))![1]);
      found.push({ pid: Number(name), uid });
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

/** A slow but honest job: the sleep makes sure the crash lands mid-job, then the real training runs. */
function slowTrain(marker: string): string[] {
  return ['/bin/sh', '-c', `: ${marker}; sleep 15; exec /usr/bin/python3 /input/train.py --seed {seed} --out /work/model.json`];
}

const settled = (view: ClaimView) => view.status !== 'pending';
const leased = (view: ClaimView) => view.replay.some((j) => j.state === 'leased');

function expectOneVerdictOneAttestation(view: ClaimView) {
  expect(view).toMatchObject({ status: 'verified', method: 'replayed' });
  expect(view.history).toHaveLength(1);
  expect(view.evidence.filter((e) => e.kind === 'attestation')).toHaveLength(1);
  expect(view.replay).toHaveLength(1);
  expect(view.replay[0]!.state).toBe('done');
}

describeSandbox('replay crash recovery with real processes', () => {
  const repo = makeDigitsRepo();
  const honest = hostScore(repo.dir);
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    repo.cleanup();
  });

  async function setUp(kind: 'pglite' | 'postgres') {
    const dataDir = mkdtempSync(join(tmpdir(), 'proofboard-crash-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const env: Record<string, string> = {
      PROOFBOARD_DATA: dataDir,
      PROOFBOARD_OPERATOR_TOKEN: OPERATOR_TOKEN,
      PROOFBOARD_LEASE_MS: LEASE_MS,
      PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
    };
    if (kind === 'postgres') {
      const pg = await createPostgresDatabase();
      env.DATABASE_URL = pg.url;
      cleanups.push(pg.drop);
    }
    const server = await startServer(env);
    cleanups.push(async () => void (await server.stop('SIGKILL')));
    const keyFile = join(dataDir, 'verifier-key.json');
    const key = writeNewKeyFile(keyFile);
    const marker = `crash-marker-${randomUUID()}`;
    await registerReplayTask(server.url, OPERATOR_TOKEN, 'crash-digits', slowTrain(marker));
    await trustVerifier(server.url, OPERATOR_TOKEN, { publicKey: key.publicKey, secretKey: key.secretKey, hex: key.publicKeyHex }, ['crash-digits']);
    const claimId = await submitReplayClaim(server.url, newKey(), { task: 'crash-digits', commit: repo.commit, bundle: repo.bundle, value: honest });
    return { env, server, keyFile, marker, claimId };
  }

  function track(worker: WorkerProcess) {
    cleanups.push(async () => {
      if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
      await worker.exited;
    });
    return worker;
  }

  it('a worker SIGKILLed mid-job: its sandboxed job dies with it, a second worker finishes after the lease expires', async () => {
    const { server, keyFile, marker, claimId } = await setUp('pglite');
    const first = track(startWorker(server.url, keyFile));
    await waitFor('the first worker to lease the job', () => readClaim(server.url, claimId), leased);
    const running = await waitFor('the sandboxed job to start', async () => processesWithMarker(marker), (p) => p.some((x) => x.uid !== 0));
    const jobUid = running.find((x) => x.uid !== 0)!.uid;

    first.child.kill('SIGKILL');
    await first.exited;
    // --die-with-parent: the outer bwrap dies with the worker, and the job's pid namespace with it.
    await waitFor('the orphaned job to die', async () => [...processesWithMarker(marker), ...(await processesOfUid(jobUid))], (p) => p.length === 0);
    const orphaned = await readClaim(server.url, claimId);
    expect(orphaned.status).toBe('pending');
    expect(orphaned.replay).toEqual([expect.objectContaining({ state: 'leased', attempts: 1 })]);

    const second = track(startWorker(server.url, keyFile));
    const done = await waitFor('the second worker to finish the job', () => readClaim(server.url, claimId), settled);
    expectOneVerdictOneAttestation(done);
    expect(done.replay[0]!.attempts).toBe(2);
    expect(second.output()).toMatch(/measured \d+ \(claimed \d+\): verified/);
    second.child.kill('SIGTERM');
    await second.exited;
  }, 600_000);

  describe.each(databaseKinds())('on %s', (kind) => {
    it('a server SIGKILLed while a worker holds a lease, restarted on the same data, loses no job', async () => {
      const { env, server, keyFile, marker, claimId } = await setUp(kind);
      const worker = track(startWorker(server.url, keyFile));
      await waitFor('the worker to lease the job', () => readClaim(server.url, claimId), leased);
      await waitFor('the sandboxed job to start', async () => processesWithMarker(marker), (p) => p.some((x) => x.uid !== 0));

      await server.stop('SIGKILL');
      const restarted: ServerProcess = await startServer(env);
      cleanups.push(async () => void (await restarted.stop('SIGKILL')));
      expect(restarted.url).toBe(server.url);
      const withLog = (e: Error) => {
        throw new Error(`${e.message}\nrestarted server said:\n${restarted.output()}`);
      };
      const before = await readClaim(restarted.url, claimId).catch(withLog);
      expect(before.status).toBe('pending');
      expect(before.replay).toHaveLength(1);

      const done = await waitFor('the worker to finish the job on the restarted server', () => readClaim(restarted.url, claimId).catch(withLog), settled);
      expectOneVerdictOneAttestation(done);
      expect(worker.output()).toMatch(/measured \d+ \(claimed \d+\): verified/);
      worker.child.kill('SIGTERM');
      await worker.exited;
      await restarted.stop('SIGTERM');
    }, 600_000);
  });
});
