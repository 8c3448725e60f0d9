// Heartbeats prove that a worker is alive, not that its job progresses. A worker stuck on one job (a hung device, a
// bug, a job that keeps it busy) heartbeats forever; past the task's replay budget the server stops extending the
// lease, so the job goes back to the queue instead of holding its claim pending for good. Task registration refuses a
// replay spec no worker could run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type Api } from '../../src/api/app.ts';
import type { AppContext } from '../../src/service/context.ts';
import { exampleTask } from '../../src/service/example-task.ts';
import { packReplayJobBudgetMs, type PackReplaySpec } from '../../src/attest/task-pack.ts';
import { leaseResponseSchema, newWorkerInstanceId, signWorkerRequest } from '../../src/attest/worker-request.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { makeTestContext, OPERATOR_TOKEN } from '../helpers/context.ts';
import { DEFAULT_COMMIT, newKey, postJson, putBlob, signedClaim, stampedClaimBody } from '../helpers/claims.ts';

const auth = { authorization: `Bearer ${OPERATOR_TOKEN}` };
const TASK = 'deadline-task';
// The digits pack's replay (its files are stored by the seeded example task), with a one-second training budget.
const replay = { ...(exampleTask.replay as PackReplaySpec), limits: { wallTimeMs: 1_000 } };

describe.each(databaseKinds())('replay lease deadline on %s', (kind) => {
  let ctx: AppContext;
  let app: Api;
  let close: () => Promise<void>;
  let skew = 0;
  // The service's clock moves only when the test moves it: on a loaded machine the real seconds that 21 heartbeats
  // take would otherwise eat into the budget and cost the last one.
  const start = Date.now();
  const now = () => new Date(start + skew);
  const worker = newKey();

  beforeAll(async () => {
    const t = await makeTestContext(kind, { now });
    ctx = t.ctx;
    close = t.close;
    app = createApp(ctx, { log: (m, e) => console.error(m, e) });
    expect((await putBlob(app, DEFAULT_COMMIT.bundle)).status).toBe(201);
    const policy = { quorum: 1, direction: 'higher', tolerance: { absolute: 0 }, runs: 1, seeds: [0] };
    const task = { ...exampleTask, id: TASK, policy, stampBaseBits: 0, auditFraction: 0, evalSetCommitment: null, replay };
    expect((await postJson(app, '/v1/tasks', task, auth)).status).toBe(201);
    expect((await postJson(app, '/v1/verifier-keys', { name: 'w', operator: 'lab-w', publicKey: worker.hex, tasks: [TASK] }, auth)).status).toBe(201);
    const submitter = newKey();
    const envelope = signedClaim(submitter, { task: TASK, createdAt: now().toISOString() });
    expect((await postJson(app, '/v1/claims', await stampedClaimBody(app, submitter, envelope))).status).toBe(202);
  });
  afterAll(async () => close());

  const signed = (instance: string, body: { action: 'lease'; tasks: string[] } | { action: 'heartbeat'; jobId: number }) =>
    signWorkerRequest(worker.secretKey, { ...body, worker: instance }, now());

  it('stops extending the lease at the task budget, and the job goes back to the queue', async () => {
    const stuck = newWorkerInstanceId();
    const leased = await postJson(app, '/v1/replay/lease', { request: signed(stuck, { action: 'lease', tasks: [TASK] }) });
    // The answer is what the route documents and the worker parses (one schema, src/attest/worker-request.ts).
    const { job } = leaseResponseSchema.parse(await leased.json());
    if (!job) throw new Error('no job leased');
    expect(job.attempt).toBe(1);
    const deadline = start + skew + packReplayJobBudgetMs(replay, 1);

    // A live worker heartbeats every 40 s of the service's clock (well inside the 60 s lease) for as long as it may.
    let answer: Response;
    let beats = 0;
    for (;;) {
      skew += 40_000;
      answer = await postJson(app, `/v1/replay/jobs/${job.jobId}/heartbeat`, { request: signed(stuck, { action: 'heartbeat', jobId: job.jobId }) });
      if (answer.status !== 200) break;
      const { leaseExpiresAt } = (await answer.json()) as { leaseExpiresAt: string };
      // Never past the deadline, however the heartbeat is timed.
      expect(Date.parse(leaseExpiresAt)).toBeLessThanOrEqual(deadline + 1_000);
      beats += 1;
      expect(beats, 'heartbeats went on past the budget').toBeLessThan(100);
    }
    expect(answer.status).toBe(409);
    expect(await answer.json()).toMatchObject({ error: { code: 'conflict', details: { reason: 'lease_overdue' } } });
    // About the budget's worth of heartbeats was granted (14 min at 40 s each), not one more.
    expect(beats).toBe(Math.floor((packReplayJobBudgetMs(replay, 1) - 1) / 40_000));

    // Another worker takes the job once the last lease has run out.
    skew += 61_000;
    const next = await postJson(app, '/v1/replay/lease', { request: signed(newWorkerInstanceId(), { action: 'lease', tasks: [TASK] }) });
    expect(((await next.json()) as { job: { jobId: number; attempt: number } }).job).toMatchObject({ jobId: job.jobId, attempt: 2 });
  });

  it('refuses at registration a replay spec that no worker could run', async () => {
    const base = { ...exampleTask, policy: { quorum: 1, direction: 'higher', tolerance: { absolute: 0 }, runs: 1 }, evalSetCommitment: null };
    for (const [id, spec] of [
      ['no-train', { ...replay, train: undefined }],
      ['compiled-in-harness', { harness: 'digits-mlp-v1', train: ['/usr/bin/python3', '/input/train.py'] }],
      ['no-seed', { ...replay, train: ['/usr/bin/python3', '/input/train.py'] }],
      ['extra-field', { ...replay, shell: 'sh -c' }],
      ['negative-wall', { ...replay, limits: { wallTimeMs: -1 } }],
      ['unknown-limit', { ...replay, limits: { gpuMemory: 1 } }],
    ] as const) {
      const res = await postJson(app, '/v1/tasks', { ...base, id, replay: spec }, auth);
      expect(res.status, id).toBe(400);
    }
  });
});
