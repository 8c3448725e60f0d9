// "Beats its parent" end to end through the API, on a task with three seeded runs: the parent verified by a quorum,
// a child whose runs beat the parent's verified with the t-test's statistic and p-value in full, a child that does
// not beat it rejected, a child settled by a replay worker judged the same way; and the claims no test could ever
// settle refused at intake. Before, no caller passed the parent's runs, so every such claim stayed unsettled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type Api } from '../../src/api/app.ts';
import { claimIdOf } from '../../src/attest/claim.ts';
import { tTestOneSided } from '../../src/attest/stats.ts';
import { newWorkerInstanceId, signWorkerRequest } from '../../src/attest/worker-request.ts';
import { exampleTask } from '../../src/service/example-task.ts';
import { replayAttestation } from '../helpers/attestations.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { recheckOverApp } from '../helpers/recheck-app.ts';
import { makeTestContext, OPERATOR_TOKEN } from '../helpers/context.ts';
import { DEFAULT_COMMIT, newKey, postJson, putBlob, signedClaim, stampedClaimBody, type TestKey } from '../helpers/claims.ts';
import { syntheticCommit, type SyntheticCommit } from '../helpers/git-objects.ts';

const auth = { authorization: `Bearer ${OPERATOR_TOKEN}` };
const TASK = 'bpb-three-seeds';
const ONCE = 'bpb-one-run';
const SEEDS = [0, 1, 2];
// Validation bits per byte: lower is better.
const policy = { quorum: 2, direction: 'lower', tolerance: { absolute: 0.01 }, runs: 3, seeds: SEEDS, beatsParent: { test: 'welch-t', alpha: 0.05 } };
const PARENT = [0.98, 0.984, 0.981];
const BETTER = [0.95, 0.953, 0.951];
const NOT_BETTER = [0.979, 0.985, 0.982];

type ClaimJson = { id: string; status: string; method: string | null; reasonCode: string | null; verdict: { rule: string } | null };
type ErrorJson = { error: { code: string; message: string } };

describe.each(databaseKinds())('beats-parent claims on %s', (kind) => {
  let app: Api;
  let close: () => Promise<void>;
  const [alice, bob] = [newKey(), newKey()];
  const submitter = newKey();
  // Real commits in real bundles (intake checks both, and that a parent is a known ancestor): every child below is
  // built on the parent.
  const parentOf = syntheticCommit(`parent ${kind}`);
  const parentCommit = parentOf.commit;
  const made = new Map<string, SyntheticCommit>([[parentCommit, parentOf]]);
  let n = 0;
  const commit = (parent = parentOf) => {
    const c = syntheticCommit(`beats-parent ${kind} ${++n}`, [parent]);
    made.set(c.commit, c);
    return c.commit;
  };

  beforeAll(async () => {
    const t = await makeTestContext(kind);
    close = t.close;
    app = createApp(t.ctx, { log: (m, e) => console.error(m, e) });
    expect((await putBlob(app, DEFAULT_COMMIT.bundle)).status).toBe(201);
    for (const [id, p] of [[TASK, policy], [ONCE, { ...policy, runs: 1, seeds: [0] }]] as const) {
      const task = { ...exampleTask, id, title: id, metricName: 'bpb', direction: 'lower', policy: p, stampBaseBits: 0, auditFraction: 0, evalSetCommitment: null };
      const res = await postJson(app, '/v1/tasks', task, auth);
      expect(res.status, await res.clone().text()).toBe(201);
    }
    for (const [name, key] of [['alice', alice], ['bob', bob]] as const) {
      expect((await postJson(app, '/v1/verifier-keys', { name, operator: name, publicKey: key.hex, tasks: [TASK, ONCE] }, auth)).status).toBe(201);
    }
  });
  afterAll(async () => close());

  const attest = (key: TestKey, claimId: string, c: string, values: number[], task = TASK) =>
    ({
      type: 'attestation',
      envelope: replayAttestation(key, {
        claimId,
        commit: c,
        value: 0,
        now: new Date(),
        predicate: { task, metric: 'bpb', runs: values.map((value, i) => ({ seed: SEEDS[i]!, value })) },
      }),
    }) as const;

  async function submit(over: { commit: string; value: number; parent?: string | null; beatsParent?: boolean; task?: string }, runs: number[] | null) {
    const task = over.task ?? TASK;
    const bundle = made.get(over.commit)!;
    expect((await putBlob(app, bundle.bundle)).status).toBeLessThan(300);
    const envelope = signedClaim(submitter, { task, commit: over.commit, bundle: bundle.bundleRef, parent: over.parent ?? null, beatsParent: over.beatsParent ?? false, metric: { name: 'bpb', value: over.value }, createdAt: new Date().toISOString() });
    const id = claimIdOf(Buffer.from(envelope.payload, 'base64'));
    const evidence = runs ? [attest(alice, id, over.commit, runs, task), attest(bob, id, over.commit, runs, task)] : [];
    const res = await postJson(app, '/v1/claims', await stampedClaimBody(app, submitter, envelope, evidence));
    return { id, res };
  }
  const read = async (id: string) => (await (await app.request(`/v1/claims/${id}`)).json()) as ClaimJson;
  const settled: string[] = [];


  it('verifies a child that beats its verified parent, with the test and its p-value in full, and rejects one that does not', async () => {
    const parent = await submit({ commit: parentCommit, value: 0.981 }, PARENT);
    expect(parent.res.status, await parent.res.clone().text()).toBeLessThan(300);
    expect(await read(parent.id)).toMatchObject({ status: 'verified', method: 'attested' });

    const better = await submit({ commit: commit(), value: 0.951, parent: parentCommit, beatsParent: true }, BETTER);
    expect(better.res.status, await better.res.clone().text()).toBeLessThan(300);
    const expected = tTestOneSided(BETTER, PARENT, 'less', 'welch-t');
    expect(expected.p).toBeLessThan(0.05);
    const verified = await read(better.id);
    expect(verified).toMatchObject({ status: 'verified', method: 'attested' });
    expect(verified.verdict!.rule).toContain(`beats parent by one-sided welch-t t=${expected.t} df=${expected.df} p=${expected.p} < alpha 0.05 (n=3 vs 3)`);

    const worse = await submit({ commit: commit(), value: 0.982, parent: parentCommit, beatsParent: true }, NOT_BETTER);
    expect(worse.res.status, await worse.res.clone().text()).toBeLessThan(300);
    const notShown = tTestOneSided(NOT_BETTER, PARENT, 'less', 'welch-t');
    expect(notShown.p).toBeGreaterThanOrEqual(0.05);
    const rejected = await read(worse.id);
    expect(rejected).toMatchObject({ status: 'rejected', reasonCode: 'attestation_contradicts' });
    expect(rejected.verdict!.rule).toContain(`does not beat its parent: one-sided welch-t t=${notShown.t} df=${notShown.df} p=${notShown.p} >= alpha 0.05`);
    settled.push(better.id, worse.id);
  });

  it('judges a replayed child against its parent\'s runs too', async () => {
    const c = commit();
    const child = await submit({ commit: c, value: 0.951, parent: parentCommit, beatsParent: true }, null);
    expect(child.res.status, await child.res.clone().text()).toBe(202);
    const worker = newWorkerInstanceId();
    const leased = await postJson(app, '/v1/replay/lease', { request: signWorkerRequest(alice.secretKey, { action: 'lease', worker, tasks: [TASK] }) });
    const { job } = (await leased.json()) as { job: { jobId: number; claim: { id: string } } };
    expect(job.claim.id).toBe(child.id);
    const done = await postJson(app, `/v1/replay/jobs/${job.jobId}/complete`, {
      request: signWorkerRequest(alice.secretKey, { action: 'complete', worker, jobId: job.jobId }),
      attestation: attest(alice, child.id, c, BETTER).envelope,
    });
    expect(done.status, await done.clone().text()).toBe(200);
    const view = await read(child.id);
    expect(view).toMatchObject({ status: 'verified', method: 'replayed' });
    expect(view.verdict!.rule).toMatch(/beats parent by one-sided welch-t t=\S+ df=\S+ p=\S+ < alpha 0.05 \(n=3 vs 3\)/);
    settled.push(child.id);
  });

  it('keeps a replay\'s contradiction when an unrelated key is retired', async () => {
    const c = commit();
    const child = await submit({ commit: c, value: 0.95, parent: parentCommit, beatsParent: true }, null);
    expect(child.res.status, await child.res.clone().text()).toBe(202);
    const worker = newWorkerInstanceId();
    const leased = await postJson(app, '/v1/replay/lease', { request: signWorkerRequest(alice.secretKey, { action: 'lease', worker, tasks: [TASK] }) });
    const { job } = (await leased.json()) as { job: { jobId: number } };
    await postJson(app, `/v1/replay/jobs/${job.jobId}/complete`, {
      request: signWorkerRequest(alice.secretKey, { action: 'complete', worker, jobId: job.jobId }),
      attestation: attest(alice, child.id, c, NOT_BETTER).envelope,
    });
    expect(await read(child.id)).toMatchObject({ status: 'rejected', reasonCode: 'replay_contradicts' });
    // A third key, trusted and then retired: nothing it signed touches this claim, which must stay as it is (under the
    // task's quorum of 2 the replay's single result would read as unsettled if it were judged again).
    const carol = newKey();
    const added = await postJson(app, '/v1/verifier-keys', { name: 'carol', operator: 'carol-lab', publicKey: carol.hex, tasks: [TASK] }, auth);
    const { id: carolId } = (await added.json()) as { id: string };
    expect((await postJson(app, `/v1/verifier-keys/${carolId}/revoke`, { reason: 'retired' }, auth)).status).toBe(200);
    expect(await read(child.id)).toMatchObject({ status: 'rejected', reasonCode: 'replay_contradicts' });
    settled.push(child.id);
  });

  it('re-checks each verdict from the parent\'s signed evidence, trusting nobody', async () => {
    expect(settled).toHaveLength(4);
    // The real re-check engine, which must recompute the parent's runs itself.
    const report = await recheckOverApp(app, settled);
    for (const claim of report.claims) {
      expect(claim.checks.find((c) => c.id === 'verdict.rule'), JSON.stringify(claim.checks)).toMatchObject({ status: 'pass' });
      expect(claim.ok, JSON.stringify(claim.checks)).toBe(true);
    }
  });

  it('refuses at intake a beats-parent claim no test could settle', async () => {
    // A parent known to each task but not verified: still pending (a parent's claim must exist, or the child's lineage
    // is refused as unknown_parent before the test is considered).
    const pending = commit();
    expect((await submit({ commit: pending, value: 0.99 }, null)).res.status).toBe(202);
    expect((await submit({ commit: parentCommit, value: 0.99, task: ONCE }, null)).res.status).toBe(202);
    const cases: [string, Parameters<typeof submit>[0]][] = [
      ['no parent named', { commit: commit(), value: 0.95, beatsParent: true }],
      ['parent never verified', { commit: commit(made.get(pending)), value: 0.95, parent: pending, beatsParent: true }],
      ['a task that runs once', { commit: commit(), value: 0.95, parent: parentCommit, beatsParent: true, task: ONCE }],
    ];
    for (const [why, over] of cases) {
      const { res } = await submit(over, over.task === ONCE ? null : BETTER);
      expect(res.status, why).toBe(422);
      expect(((await res.json()) as ErrorJson).error.code, why).toBe('beats_parent_untestable');
    }
  });
});
