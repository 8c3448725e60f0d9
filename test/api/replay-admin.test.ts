// The operator's parked replay jobs through the API (app.request()): jobs parked the way the queue parks them (leases
// that expire, infrastructure failures), listed, requeued and closed; each change with its audit row; a closed replay
// job rejects its pending claim with a logged verdict, a closed audit job leaves its verified claim alone; and the
// refusals: live leases, done and closed jobs, hostile ids, states and reasons, missing or wrong tokens.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asc, eq } from 'drizzle-orm';
import { createApp, type Api } from '../../src/api/app.ts';
import type { AppContext } from '../../src/service/context.ts';
import { auditLog } from '../../db/schema.ts';
import { MAX_ATTEMPTS } from '../../src/service/actions/replay-jobs.ts';
import { exampleTask } from '../../src/service/example-task.ts';
import { claimIdOf } from '../../src/attest/claim.ts';
import { isInertText } from '../../src/attest/inert-text.ts';
import { newWorkerInstanceId, signWorkerRequest } from '../../src/attest/worker-request.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { makeTestContext, OPERATOR_TOKEN } from '../helpers/context.ts';
import { replayAttestation } from '../helpers/attestations.ts';
import { DEFAULT_COMMIT, newKey, postJson, putBlob, poolCommit, signedClaim, stampedClaimBody } from '../helpers/claims.ts';

const auth = { authorization: `Bearer ${OPERATOR_TOKEN}` };
const TASK = 'parked-task';
const AUDITED = 'parked-audited';

type Job = { id: number; kind: string; claimId: string; task: string; state: string; attempts: number; lastError: string | null; leaseOwner: string | null; leaseExpiresAt: string | null };
type ErrorJson = { error: { code: string; message: string; details?: { reason?: string } } };
type ClaimJson = { status: string; reasonCode: string | null; history: { status: string; reasonCode: string | null; rule: string; logIndex: number }[] };

describe.each(databaseKinds())('parked replay jobs through the API on %s', (kind) => {
  let ctx: AppContext;
  let app: Api;
  let close: () => Promise<void>;
  // The service's clock runs ahead by `skew` when a test needs leases to run out; worker requests are signed at it.
  let skew = 0;
  const now = () => new Date(Date.now() + skew);
  const worker = newKey();
  const instance = newWorkerInstanceId();
  let commits = 0;

  beforeAll(async () => {
    const t = await makeTestContext(kind, { now });
    ctx = t.ctx;
    close = t.close;
    app = createApp(ctx, { log: (m, e) => console.error(m, e) });
    expect((await putBlob(app, DEFAULT_COMMIT.bundle)).status).toBe(201);
    const policy = { quorum: 1, direction: 'higher', tolerance: { absolute: 0 }, runs: 1, seeds: [0] };
    for (const task of [
      { ...exampleTask, id: TASK, policy, stampBaseBits: 0, auditFraction: 0, evalSetCommitment: null },
      { ...exampleTask, id: AUDITED, policy, stampBaseBits: 0, auditFraction: 1, evalSetCommitment: null },
    ]) {
      expect((await postJson(app, '/v1/tasks', task, auth)).status).toBe(201);
    }
    expect((await postJson(app, '/v1/verifier-keys', { name: 'w', operator: 'lab-w', publicKey: worker.hex, tasks: [TASK, AUDITED] }, auth)).status).toBe(201);
  });
  afterAll(async () => close());

  async function submit(task: string, evidence: (claimId: string, commit: string) => unknown[] = () => []) {
    commits += 1;
    const commit = poolCommit(commits);
    const submitter = newKey();
    const envelope = signedClaim(submitter, { task, commit, createdAt: now().toISOString() });
    const claimId = claimIdOf(Buffer.from(envelope.payload, 'base64'));
    const res = await postJson(app, '/v1/claims', await stampedClaimBody(app, submitter, envelope, evidence(claimId, commit)));
    expect(res.status, await res.clone().text()).toBeLessThan(300);
    expect(((await res.json()) as { id: string }).id).toBe(claimId);
    return claimId;
  }

  async function worker_(action: 'lease' | 'fail', task: string, jobId?: number, message = '') {
    const request = signWorkerRequest(
      worker.secretKey,
      action === 'lease' ? { action, worker: instance, tasks: [task] } : { action, worker: instance, jobId: jobId!, failure: { code: 'infrastructure', message } },
      now(),
    );
    const res = await postJson(app, action === 'lease' ? '/v1/replay/lease' : `/v1/replay/jobs/${jobId}/fail`, { request });
    expect(res.status, await res.clone().text()).toBe(200);
    return res.json() as Promise<{ job: { jobId: number; attempt: number; claim: { id: string } } | null }>;
  }
  const lease = (task: string) => worker_('lease', task).then((r) => r.job);

  /**
   * Parks the only open job of `task` the way dead workers do: each of its `leases` left runs out, then the next lease
   * request parks it.
   */
  async function parkByExpiry(task: string, leases = MAX_ATTEMPTS): Promise<number> {
    let jobId = 0;
    for (let i = 0; i < leases; i++) {
      const job = await lease(task);
      expect(job).not.toBeNull();
      jobId = job!.jobId;
      skew += ctx.config.leaseMs + 1000;
    }
    expect(await lease(task)).toBeNull();
    return jobId;
  }

  async function list(query = ''): Promise<{ jobs: Job[]; truncated: boolean }> {
    const res = await app.request(`/v1/admin/replay-jobs${query}`, { headers: auth });
    expect(res.status, await res.clone().text()).toBe(200);
    return res.json() as Promise<{ jobs: Job[]; truncated: boolean }>;
  }
  const requeue = (id: number | string, headers = auth) => postJson(app, `/v1/admin/replay-jobs/${id}/requeue`, {}, headers);
  const closeJob = (id: number | string, body: unknown, headers = auth) => postJson(app, `/v1/admin/replay-jobs/${id}/close`, body, headers);
  async function expectRefused(res: Response, status: number, code: string, reason?: string) {
    const body = (await res.json()) as ErrorJson;
    expect(res.status, JSON.stringify(body)).toBe(status);
    expect(body.error.code).toBe(code);
    if (reason) expect(body.error.details?.reason).toBe(reason);
  }
  async function readClaim(id: string): Promise<ClaimJson> {
    const res = await app.request(`/v1/claims/${id}`);
    expect(res.status).toBe(200);
    return res.json() as Promise<ClaimJson>;
  }
  const logSize = async () => ((await (await app.request('/v1/log/entries?start=0&end=1')).json()) as { size: number }).size;
  const auditRows = (jobId: number) => ctx.db.select().from(auditLog).where(eq(auditLog.target, `replay_job:${jobId}`)).orderBy(asc(auditLog.id));

  it('parks, lists, requeues, parks again and closes a replay job; the claim is rejected with a logged verdict', async () => {
    const claimId = await submit(TASK);
    // Infrastructure failures count as attempts too; their text is listed as the worker sent it.
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const job = await lease(TASK);
      await worker_('fail', TASK, job!.jobId, `disk full \u001b[2J\u001b]0;owned\u0007 try ${i}`);
    }
    const queued = (await list('?state=queued')).jobs.find((j) => j.claimId === claimId)!;
    expect(queued).toMatchObject({ kind: 'replay', task: TASK, state: 'queued', attempts: MAX_ATTEMPTS });
    // Stored inert by the queue (the job's stderr reaches it through the worker).
    expect(queued.lastError).toContain(`try ${MAX_ATTEMPTS - 1}`);
    expect(isInertText(queued.lastError!)).toBe(true);
    expect(await lease(TASK)).toBeNull();

    const parked = (await list()).jobs.filter((j) => j.claimId === claimId);
    expect(parked).toEqual([expect.objectContaining({ id: queued.id, state: 'failed', attempts: MAX_ATTEMPTS, lastError: expect.stringMatching(/gave up after 5/) })]);
    expect((await list('?state=all')).jobs.map((j) => j.id)).toContain(queued.id);
    expect((await list('?state=done')).jobs.map((j) => j.id)).not.toContain(queued.id);
    expect((await readClaim(claimId)).status).toBe('pending');

    // Requeued: attempts from zero, a worker takes it again.
    const requeued = await requeue(queued.id);
    expect(requeued.status, await requeued.clone().text()).toBe(200);
    expect(((await requeued.json()) as { job: Job }).job).toMatchObject({ id: queued.id, state: 'queued', attempts: 0, leaseOwner: null, leaseExpiresAt: null });
    const again = await lease(TASK);
    expect(again).toMatchObject({ jobId: queued.id, attempt: 1, claim: { id: claimId } });

    // Under a live lease the job is the worker's: refused.
    await expectRefused(await requeue(queued.id), 409, 'conflict', 'job_leased');
    await expectRefused(await closeJob(queued.id, { reason: 'too slow' }), 409, 'conflict', 'job_leased');

    // The worker dies; the job is parked again by the leases running out.
    skew += ctx.config.leaseMs + 1000;
    expect(await parkByExpiry(TASK, MAX_ATTEMPTS - 1)).toBe(queued.id);
    expect((await list()).jobs.find((j) => j.id === queued.id)).toMatchObject({ state: 'failed', attempts: MAX_ATTEMPTS });

    const sizeBefore = await logSize();
    const closed = await closeJob(queued.id, { reason: 'the commit needs a GPU we do not have' });
    expect(closed.status, await closed.clone().text()).toBe(200);
    const body = (await closed.json()) as { job: Job; verdict: { status: string; reasonCode: string; rule: string; logIndex: number } };
    expect(body.job).toMatchObject({ id: queued.id, state: 'closed' });
    expect(body.verdict).toMatchObject({ status: 'rejected', reasonCode: 'replay_abandoned', logIndex: sizeBefore });
    expect(body.verdict.rule).toContain('the commit needs a GPU we do not have');
    expect(await logSize()).toBe(sizeBefore + 1);
    const entry = ((await (await app.request(`/v1/log/entries?start=${sizeBefore}&end=${sizeBefore + 1}`)).json()) as { entries: { claimId: string; data: string }[] }).entries[0]!;
    expect(entry.claimId).toBe(claimId);
    expect(JSON.parse(entry.data)).toMatchObject({ claim: claimId, status: 'rejected', reasonCode: 'replay_abandoned' });
    const view = await readClaim(claimId);
    expect(view).toMatchObject({ status: 'rejected', reasonCode: 'replay_abandoned' });
    expect(view.history.at(-1)).toMatchObject({ status: 'rejected', reasonCode: 'replay_abandoned', logIndex: sizeBefore });

    // Closed is final, for both actions; and nothing of it is leased again.
    await expectRefused(await closeJob(queued.id, { reason: 'again' }), 409, 'conflict', 'job_closed');
    await expectRefused(await requeue(queued.id), 409, 'conflict', 'job_closed');
    expect(await lease(TASK)).toBeNull();

    // One audit row per change, in order, naming the operator.
    const rows = await auditRows(queued.id);
    expect(rows.map((r) => [r.actor, r.action])).toEqual([
      ['operator:token', 'replay_job.requeue'],
      ['operator:token', 'replay_job.close'],
    ]);
    expect(rows[0]!.details).toMatchObject({ claimId, kind: 'replay', from: { state: 'failed', attempts: MAX_ATTEMPTS } });
    expect(rows[1]!.details).toMatchObject({ reason: 'the commit needs a GPU we do not have', verdictLogIndex: sizeBefore });
  });

  it('refuses to requeue or close a done job', async () => {
    const claimId = await submit(TASK);
    const job = await lease(TASK);
    const failed = await postJson(app, `/v1/replay/jobs/${job!.jobId}/fail`, {
      request: signWorkerRequest(worker.secretKey, { action: 'fail', worker: instance, jobId: job!.jobId, failure: { code: 'bad_bundle', message: 'not a bundle' } }, now()),
    });
    expect(failed.status).toBe(200);
    expect((await readClaim(claimId)).status).toBe('rejected');
    await expectRefused(await requeue(job!.jobId), 409, 'conflict', 'job_done');
    await expectRefused(await closeJob(job!.jobId, { reason: 'x' }), 409, 'conflict', 'job_done');
    expect(await auditRows(job!.jobId)).toEqual([]);
  });

  it('acts on a job whose lease ran out while no worker asked', async () => {
    await submit(TASK);
    const job = await lease(TASK);
    skew += ctx.config.leaseMs + 1000;
    const res = await requeue(job!.jobId);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as { job: Job }).job).toMatchObject({ state: 'queued', attempts: 0, leaseOwner: null });
    // The worker that held it cannot come back and finish it.
    const late = await postJson(app, `/v1/replay/jobs/${job!.jobId}/heartbeat`, {
      request: signWorkerRequest(worker.secretKey, { action: 'heartbeat', worker: instance, jobId: job!.jobId }, now()),
    });
    await expectRefused(late, 409, 'conflict', 'lease_lost');
    const closed = await closeJob(job!.jobId, { reason: 'queued, but given up' });
    expect(closed.status).toBe(200);
    expect(((await closed.json()) as { verdict: { reasonCode: string } }).verdict.reasonCode).toBe('replay_abandoned');
  });

  it('closes a parked audit job and leaves its verified claim as it was', async () => {
    const claimId = await submit(AUDITED, (id, commit) => [
      { type: 'attestation', envelope: replayAttestation(worker, { claimId: id, commit, value: 90, now: now(), predicate: { task: AUDITED } }) },
    ]);
    const verified = await readClaim(claimId);
    expect(verified.status).toBe('verified');
    const jobId = await parkByExpiry(AUDITED);
    expect((await list()).jobs.find((j) => j.id === jobId)).toMatchObject({ kind: 'audit', claimId, state: 'failed' });
    const sizeBefore = await logSize();
    const res = await closeJob(jobId, { reason: 'audit hardware retired' });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toMatchObject({ job: { state: 'closed', kind: 'audit' }, verdict: null });
    expect(await logSize()).toBe(sizeBefore);
    const after = await readClaim(claimId);
    expect(after.status).toBe('verified');
    expect(after.history).toEqual(verified.history);
    expect((await auditRows(jobId)).map((r) => r.action)).toEqual(['replay_job.close']);
  });

  it('refuses hostile ids, states, reasons and credentials, and changes nothing', async () => {
    await submit(TASK);
    const jobId = await parkByExpiry(TASK);
    for (const id of ['abc', '0', '-1', '01', '1e3', '0x10', '1.5', '%207', '9'.repeat(16), "1'; drop table replay_jobs;--"]) {
      await expectRefused(await requeue(encodeURI(id)), 400, 'bad_request');
      await expectRefused(await closeJob(encodeURI(id), { reason: 'x' }), 400, 'bad_request');
    }
    await expectRefused(await requeue(999_999_999), 404, 'not_found');
    await expectRefused(await closeJob(999_999_999, { reason: 'x' }), 404, 'not_found');

    for (const q of ['?state=parked', '?state=FAILED', '?state=', '?limit=0', '?limit=1001', '?limit=x', '?other=1']) {
      await expectRefused(await app.request(`/v1/admin/replay-jobs${q}`, { headers: auth }), 400, 'bad_request');
    }
    expect((await list('?state=failed&limit=1')).jobs).toHaveLength(1);

    const badReasons: unknown[] = [
      {},
      { reason: '' },
      { reason: '   ' },
      { reason: 'x'.repeat(501) },
      { reason: 'clear \u001b[2J screen' },
      { reason: 'two\nlines' },
      { reason: 'c1 \u009b31m' },
      { reason: 'bidi \u202e txet' },
      { reason: 'line \u2028 separator' },
      { reason: 42 },
      { reason: 'ok', extra: true },
    ];
    for (const body of badReasons) await expectRefused(await closeJob(jobId, body), 400, 'bad_request');
    // Text PostgreSQL cannot store is refused for the whole body, before any route sees it.
    await expectRefused(await closeJob(jobId, { reason: 'nul \u0000' }), 400, 'bad_json');
    await expectRefused(await closeJob(jobId, { reason: 'lone \ud800 surrogate' }), 400, 'bad_json');
    await expectRefused(await closeJob(jobId, '{"reason":'), 400, 'bad_json');

    const badHeaders: Record<string, string>[] = [{}, { authorization: 'Bearer wrong' }, { authorization: OPERATOR_TOKEN }, { authorization: `Basic ${OPERATOR_TOKEN}` }];
    for (const headers of badHeaders) {
      await expectRefused(await app.request('/v1/admin/replay-jobs', { headers }), 401, 'unauthorized');
      await expectRefused(await requeue(jobId, headers as typeof auth), 401, 'unauthorized');
      await expectRefused(await closeJob(jobId, { reason: 'x' }, headers as typeof auth), 401, 'unauthorized');
    }
    expect((await list()).jobs.find((j) => j.id === jobId)).toMatchObject({ state: 'failed', attempts: MAX_ATTEMPTS });
    expect(await auditRows(jobId)).toEqual([]);
  });

  it('answers 403 when the service has no operator token', async () => {
    const open = createApp({ ...ctx, config: { ...ctx.config, operatorToken: undefined } }, { log: () => {} });
    await expectRefused(await open.request('/v1/admin/replay-jobs', { headers: auth }), 403, 'forbidden');
  });
});
