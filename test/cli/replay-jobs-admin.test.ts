// `proofboard admin jobs` against a real `proofboard serve`: a replay job parked the way the queue parks it (a worker
// that leases it and fails it as infrastructure trouble, MAX_ATTEMPTS times), listed with its error text made inert,
// requeued (a worker leases it again), parked again and closed: the claim is rejected as replay_abandoned by a new
// log entry. And what the command refuses, locally or because the server did.
import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ATTEMPTS } from '../../src/service/actions/replay-jobs.ts';
import { newWorkerInstanceId, signWorkerRequest } from '../../src/attest/worker-request.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { newKey } from '../helpers/claims.ts';
import { cli, serverEnv, startServer, type Cleanup, type ServerProcess } from '../helpers/processes.ts';
import { readClaim, registerReplayTask, submitReplayClaim, trustVerifier } from '../replay/replay-http.ts';
import { syntheticCommit } from '../helpers/git-objects.ts';

const TOKEN = 'jobs-admin-operator-token-0123456789';
const TASK = 'parked-cli';
// What a hostile job could print to stderr, relayed by its worker: clear the screen, set the window title, a C1 CSI.
const HOSTILE = 'sandbox lost \u001b[2J\u001b]0;pwned\u0007 \u009b31m';

const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

type JobJson = { id: number; kind: string; claimId: string; task: string; state: string; attempts: number; lastError: string | null };

describe.each(databaseKinds())('proofboard admin jobs against a real server on %s', (kind) => {
  const cleanups: Cleanup[] = [];
  let server: ServerProcess;
  const worker = newKey();
  const instance = newWorkerInstanceId();

  beforeAll(async () => {
    server = await startServer({ ...(await serverEnv(kind, cleanups, 'proofboard-jobs-')), PROOFBOARD_OPERATOR_TOKEN: TOKEN });
    await registerReplayTask(server.url, TOKEN, TASK, ['/usr/bin/python3', '/input/train.py']);
    await trustVerifier(server.url, TOKEN, worker, [TASK]);
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    for (const c of cleanups.reverse()) await c();
  });

  const admin = (args: string[], env: Record<string, string> = { PROOFBOARD_OPERATOR_TOKEN: TOKEN }) =>
    cli(['admin', 'jobs', ...args, '--server', server.url], { env });

  async function workerCall(path: string, request: unknown) {
    const res = await fetch(new URL(path, server.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ request }) });
    expect(res.status, await res.clone().text()).toBe(200);
    return res.json() as Promise<{ job: { jobId: number; attempt: number; claim: { id: string } } | null }>;
  }
  const lease = async () => (await workerCall('/v1/replay/lease', signWorkerRequest(worker.secretKey, { action: 'lease', worker: instance, tasks: [TASK] }))).job;
  const failAsInfrastructure = (jobId: number) =>
    workerCall(`/v1/replay/jobs/${jobId}/fail`, signWorkerRequest(worker.secretKey, { action: 'fail', worker: instance, jobId, failure: { code: 'infrastructure', message: HOSTILE } }));
  const logSize = async () => ((await (await fetch(new URL('/v1/log/entries?start=0&end=1', server.url))).json()) as { size: number }).size;

  /** Leases and fails the open job until it has no attempts left; the next lease request would park it. */
  async function useUpAttempts(attemptsLeft: number): Promise<number> {
    let jobId = 0;
    for (let i = 0; i < attemptsLeft; i++) {
      const job = await lease();
      expect(job).not.toBeNull();
      jobId = job!.jobId;
      await failAsInfrastructure(jobId);
    }
    return jobId;
  }

  it('lists a parked job, requeues it, and closes it when it parks again', async () => {
    // A real commit in a real bundle: intake checks that; the job never gets as far as checking it out.
    const parkedCommit = syntheticCommit('parked-job');
    const claimId = await submitReplayClaim(server.url, newKey(), { task: TASK, commit: parkedCommit.commit, bundle: Buffer.from(parkedCommit.bundle), value: 90 });
    const jobId = await useUpAttempts(MAX_ATTEMPTS);

    // Still queued, with the worker's error text: printed inert, nothing of it reaches the terminal as a control.
    const queued = await admin(['list', '--state', 'queued']);
    expect(queued.code, queued.stderr).toBe(0);
    expect(queued.stdout).toMatch(new RegExp(`^${jobId}  replay  ${claimId}  ${TASK}  queued  attempts=${MAX_ATTEMPTS}  updated \\S+  last error: sandbox lost `, 'm'));
    expect(queued.stdout).toContain('\\u001b[2J');
    expect(queued.stdout).toContain('\\u009b31m');
    expect(queued.stdout).not.toMatch(RAW_CONTROL);

    // The next lease request parks it; the default list shows exactly the parked jobs.
    expect(await lease()).toBeNull();
    const parked = await admin(['list']);
    expect(parked.code, parked.stderr).toBe(0);
    expect(parked.stdout.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^${jobId}  replay  ${claimId}  ${TASK}  failed  attempts=${MAX_ATTEMPTS}  .*gave up after ${MAX_ATTEMPTS}`))]);
    const json = await admin(['list', '--json']);
    expect(json.stdout).not.toMatch(RAW_CONTROL);
    expect(JSON.parse(json.stdout) as JobJson[]).toEqual([expect.objectContaining({ id: jobId, kind: 'replay', claimId, task: TASK, state: 'failed', attempts: MAX_ATTEMPTS })]);
    expect((await readClaim(server.url, claimId)).status).toBe('pending');

    // Requeued: a worker leases it again, from its first attempt; while it holds the lease the operator cannot act.
    const requeued = await admin(['requeue', String(jobId)]);
    expect(requeued.code, requeued.stderr).toBe(0);
    expect(requeued.stdout).toContain(`replay job ${jobId} queued again (attempts reset to 0)`);
    const again = await lease();
    expect(again).toMatchObject({ jobId, attempt: 1, claim: { id: claimId } });
    const busy = await admin(['close', String(jobId), '--reason', 'too slow']);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/server refused: 409 conflict: replay job \d+ is leased to a worker until/);
    await failAsInfrastructure(jobId);

    // Parked again, then closed: the claim leaves pending through a verdict that is a new log entry.
    await useUpAttempts(MAX_ATTEMPTS - 1);
    expect(await lease()).toBeNull();
    const sizeBefore = await logSize();
    const closed = await admin(['close', String(jobId), '--reason', 'bundle host gone; resubmit with a bundle']);
    expect(closed.code, closed.stderr).toBe(0);
    expect(closed.stdout).toContain(`replay job ${jobId} closed`);
    expect(closed.stdout).toContain(`claim ${claimId} rejected (replay_abandoned), log entry ${sizeBefore}`);
    expect(await logSize()).toBe(sizeBefore + 1);
    const view = await readClaim(server.url, claimId);
    expect(view).toMatchObject({ status: 'rejected', reasonCode: 'replay_abandoned' });
    expect(view.history.at(-1)!.rule).toContain('bundle host gone; resubmit with a bundle');
    expect(view.replay).toEqual([expect.objectContaining({ state: 'closed' })]);
    expect((await admin(['list'])).stdout.trim()).toBe('no replay jobs in state failed');

    const twice = await admin(['close', String(jobId), '--reason', 'again']);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('409 conflict: replay job');
    expect((await admin(['requeue', String(jobId)])).stderr).toContain('is already closed');
    expect(await lease()).toBeNull();
  }, 120_000);

  it('refuses bad arguments, unknown jobs and missing or wrong tokens', async () => {
    const badId = await admin(['requeue', '1e3']);
    expect(badId.code).toBe(1);
    expect(badId.stderr).toContain('not a replay job id');
    const badState = await admin(['list', '--state', 'parked']);
    expect(badState.code).toBe(1);
    expect(badState.stderr).toContain('--state must be one of');
    expect((await admin(['close', '7'])).code).toBe(2);
    const unknown = await admin(['requeue', '999999999']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('404 not_found: no replay job 999999999');
    const control = await admin(['close', '999999999', '--reason', 'clear \u001b[2J']);
    expect(control.stderr).toMatch(/400 bad_request: reason: control/);
    const wrong = await admin(['list'], { PROOFBOARD_OPERATOR_TOKEN: 'not-the-token' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('401 unauthorized');
    const none = await admin(['list'], { PROOFBOARD_OPERATOR_TOKEN: '', PROOFBOARD_DATA: '/nonexistent' });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no operator token');
  }, 60_000);
});

describe('proofboard admin jobs list against a server that relays raw control characters', () => {
  it('prints them inert, as text and as JSON', async () => {
    // An older or hostile server: the error text comes back exactly as a job wrote it.
    const job = { id: 3, kind: 'replay', claimId: 'c'.repeat(64), task: TASK, state: 'failed', attempts: 5, lastError: `${HOSTILE} \u202e\r\nforged line`, leaseExpiresAt: null, updatedAt: '2026-12-01T00:00:00.000Z' };
    const fake = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ jobs: [job], truncated: false }));
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(fake.address() as { port: number }).port}`;
    try {
      const env = { PROOFBOARD_OPERATOR_TOKEN: TOKEN };
      const text = await cli(['admin', 'jobs', 'list', '--server', url], { env });
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).not.toMatch(RAW_CONTROL);
      expect(text.stdout.trim().split('\n')).toHaveLength(1);
      expect(text.stdout).toContain('last error: sandbox lost \\u001b[2J\\u001b]0;pwned\\u0007 \\u009b31m \\u202e\\u000d\\u000aforged line');
      const json = await cli(['admin', 'jobs', 'list', '--json', '--server', url], { env });
      expect(json.stdout).not.toMatch(RAW_CONTROL);
      expect(JSON.parse(json.stdout)).toEqual([job]);
    } finally {
      await new Promise((r) => fake.close(r));
    }
  }, 30_000);
});
