// Workers follow the task list, through the API (app.request()) on both databases: a worker whose key is trusted for
// a task registered after the worker started takes that task's jobs at its next lease (the service's own worker key is
// trusted for a new replay task in the registration's transaction; an operator's key once the operator adds the task);
// a job is leased only to a worker offering the GPUs its task asks for; a task the key is not trusted for is never
// leased to it; and a leased job carries its task's pack, whose files the leasing worker (and only it) can fetch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createApp, type Api } from '../../src/api/app.ts';
import { claimIdOf } from '../../src/attest/claim.ts';
import { toTaskPack } from '../../src/attest/task-pack.ts';
import { newWorkerInstanceId, signWorkerRequest, type LeasedJob } from '../../src/attest/worker-request.ts';
import { verifierKeyId } from '../../src/attest/registry.ts';
import { ensureServiceWorkerKey } from '../../src/service/actions/service-worker-key.ts';
import type { AppContext } from '../../src/service/context.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { makeTestContext, OPERATOR_TOKEN } from '../helpers/context.ts';
import { newKey, postJson, putBlob, sha256Hex, signedClaim, withIntake, type TestKey } from '../helpers/claims.ts';
import { makeGitRepo } from '../helpers/processes.ts';

const auth = { authorization: `Bearer ${OPERATOR_TOKEN}` };
const SCORE_PY = 'print(\'{"metric": 1}\')\n';
const VAL_TXT = 'hidden evaluation rows\n';

describe.each(databaseKinds())('workers follow the task list on %s', (kind) => {
  let app: Api;
  let ctx: AppContext;
  let close: () => Promise<void>;
  let repo: { dir: string; commits: string[] } | undefined;
  let bundleRef = '';
  let n = 0;
  const operatorKey = newKey();
  const serviceKey = newKey();
  const submitter = newKey();

  beforeAll(async () => {
    const t = await makeTestContext(kind);
    ({ ctx, close } = t);
    app = createApp(ctx, { log: (m, e) => console.error(m, e) });
    repo = await makeGitRepo(Array.from({ length: 6 }, (_, i) => ({ 'train.py': `print(${i})\n` })));
    const bundle = join(repo.dir, 'all.bundle');
    execFileSync('git', ['-C', repo.dir, 'bundle', 'create', '-q', bundle, '--all']);
    const bytes = readFileSync(bundle);
    bundleRef = `sha256:${sha256Hex(bytes)}`;
    expect((await putBlob(app, bytes)).status).toBe(201);
    expect((await putBlob(app, SCORE_PY)).status).toBe(201);
    expect((await app.request(`/v1/blobs/hidden/sha256:${sha256Hex(VAL_TXT)}`, { method: 'PUT', body: VAL_TXT, headers: auth })).status).toBe(201);
    // Both workers "start" before any of the tasks below exist.
    await ensureServiceWorkerKey(ctx, serviceKey.hex);
    const res = await postJson(app, '/v1/verifier-keys', { name: 'lab', operator: 'lab', publicKey: operatorKey.hex, tasks: ['digits-mlp'] }, auth);
    expect(res.status, await res.clone().text()).toBe(201);
  });
  afterAll(async () => {
    await close();
    if (repo) rmSync(repo.dir, { recursive: true, force: true });
  });

  const pack = () =>
    toTaskPack({
      harness: { command: ['/usr/bin/python3', '/harness/score.py'], files: [{ path: 'score.py', sha256: sha256Hex(SCORE_PY), bytes: SCORE_PY.length }], limits: {} },
      evalData: { files: [{ path: 'val.txt', sha256: sha256Hex(VAL_TXT), bytes: VAL_TXT.length }] },
      trainData: { files: [] },
    });
  async function addTask(id: string, gpus: number) {
    const p = pack();
    const task = {
      id,
      title: id,
      metricName: 'val_bpb',
      direction: 'lower',
      policy: { quorum: 1, direction: 'lower', tolerance: { absolute: 0.01 }, runs: 1, seeds: [0] },
      replay: { train: ['/usr/bin/python3', '/input/train.py', '--seed', '{seed}'], outputs: [{ path: 'model.pt', maxBytes: 1000 }], harness: { command: p.harness.command, limits: {} }, gpus },
      pack: p,
    };
    const res = await postJson(app, '/v1/tasks', task, auth);
    expect(res.status, await res.clone().text()).toBe(201);
  }
  async function submit(task: string) {
    const envelope = signedClaim(submitter, { task, commit: repo!.commits[n++]!, bundle: bundleRef, metric: { name: 'val_bpb', value: 1 }, createdAt: new Date().toISOString() });
    const res = await postJson(app, '/v1/claims', withIntake({ claim: envelope, evidence: [] }, submitter));
    expect(res.status, await res.clone().text()).toBeLessThan(300);
    return claimIdOf(Buffer.from(envelope.payload, 'base64'));
  }
  async function lease(key: TestKey, gpus: number, worker = newWorkerInstanceId()): Promise<{ job: LeasedJob | null; worker: string }> {
    const res = await postJson(app, '/v1/replay/lease', { request: signWorkerRequest(key.secretKey, { action: 'lease', worker, gpus }) });
    expect(res.status, await res.clone().text()).toBe(200);
    return { job: ((await res.json()) as { job: LeasedJob | null }).job, worker };
  }

  it("the service's worker takes jobs of a replay task registered after it started", async () => {
    await addTask('late-cpu', 0);
    const keys = (await (await app.request('/v1/verifier-keys')).json()) as { keys?: { id: string; tasks: string[] }[] } | { id: string; tasks: string[] }[];
    const list = Array.isArray(keys) ? keys : (keys.keys ?? []);
    expect(list.find((k) => k.id === verifierKeyId(serviceKey.hex))?.tasks).toContain('late-cpu');
    const claim = await submit('late-cpu');
    const { job } = await lease(serviceKey, 0);
    expect(job?.claim.id).toBe(claim);
    expect(job?.task.pack).toEqual(pack());
  });

  it('a job goes only to a worker with the GPUs its task asks for, and only to keys trusted for the task', async () => {
    await addTask('late-gpu', 1);
    const claim = await submit('late-gpu');
    // The operator's key is not trusted for the new task yet: nothing for it.
    expect((await lease(operatorKey, 1)).job).toBeNull();
    const trusted = await app.request(`/v1/verifier-keys/${verifierKeyId(operatorKey.hex)}`, {
      method: 'PATCH',
      body: JSON.stringify({ tasks: ['digits-mlp', 'late-gpu'] }),
      headers: { ...auth, 'content-type': 'application/json' },
    });
    expect(trusted.status, await trusted.clone().text()).toBe(200);
    // Trusted now, but this worker offers no GPU: the job waits.
    expect((await lease(operatorKey, 0)).job).toBeNull();
    const { job, worker } = await lease(operatorKey, 1);
    expect(job?.claim.id).toBe(claim);

    // The leasing worker fetches the hidden evaluation file by digest; another worker of the same key cannot.
    const ref = sha256Hex(VAL_TXT);
    const fetchFile = (w: string, file = ref) =>
      postJson(app, `/v1/replay/jobs/${job!.jobId}/pack-files/sha256:${file}`, { request: signWorkerRequest(operatorKey.secretKey, { action: 'fetch', worker: w, jobId: job!.jobId, file }) });
    const got = await fetchFile(worker);
    expect(got.status, await got.clone().text()).toBe(200);
    expect(await got.text()).toBe(VAL_TXT);
    expect((await fetchFile(newWorkerInstanceId())).status).toBe(409);
    // A digest the task does not pin is not served through this route, even to the leasing worker.
    expect((await fetchFile(worker, sha256Hex('bundle'))).status).toBe(404);
    // And the public route never serves the hidden file.
    expect((await app.request(`/v1/blobs/sha256:${ref}`)).status).toBe(404);
  });
});
