// Replay queue economics: the published stamp difficulty follows the queue depth, and jobs are served by the
// submitter's record, then stamp work, then age, so nobody waits forever.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, inArray } from 'drizzle-orm';
import { createApp, type Api } from '../../src/api/app.ts';
import type { AppContext } from '../../src/service/context.ts';
import { replayJobs, submitterKeys } from '../../db/schema.ts';
import { difficultyFor } from '../../src/service/storage/stamps.ts';
import { signWorkerRequest, newWorkerInstanceId } from '../../src/attest/worker-request.ts';
import { stampBits } from '../../src/attest/stamp.ts';
import { claimIdOf } from '../../src/attest/claim.ts';
import { exampleTask } from '../../src/service/example-task.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { makeTestContext, OPERATOR_TOKEN } from '../helpers/context.ts';
import { DEFAULT_COMMIT, newKey, postJson, putBlob, putCommit, signedClaim, stampedClaimBody, withIntake } from '../helpers/claims.ts';
import { syntheticCommit } from '../helpers/git-objects.ts';

const auth = { authorization: `Bearer ${OPERATOR_TOKEN}` };

describe('difficulty', () => {
  it('is the base at an empty queue and adds a bit each time the queue doubles past 8', () => {
    expect([0, 7, 8, 24, 56, 120, 1000].map((d) => difficultyFor(10, d))).toEqual([10, 10, 11, 12, 13, 14, 16]);
  });
});

describe.each(databaseKinds())('replay queue on %s', (kind) => {
  let ctx: AppContext;
  let app: Api;
  let close: () => Promise<void>;
  const worker = newKey();
  const instance = newWorkerInstanceId();

  beforeAll(async () => {
    const t = await makeTestContext(kind);
    ctx = t.ctx;
    close = t.close;
    app = createApp(ctx, { log: (m, e) => console.error(m, e) });
    await putBlob(app, DEFAULT_COMMIT.bundle);
    const task = { ...exampleTask, id: 'queue-task', stampBaseBits: 4, auditFraction: 0, evalSetCommitment: null };
    expect((await postJson(app, '/v1/tasks', task, auth)).status).toBe(201);
    expect((await postJson(app, '/v1/verifier-keys', { name: 'w', operator: 'lab-w', publicKey: worker.hex, tasks: ['queue-task'] }, auth)).status).toBe(201);
  });
  afterAll(async () => close());

  const difficulty = async () => ((await (await app.request('/v1/tasks/queue-task')).json()) as { stamp: { bits: number; queueDepth: number } }).stamp;
  async function enqueue(key = newKey(), n = 1) {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const env = signedClaim(key, { task: 'queue-task', createdAt: new Date(Date.now() + i).toISOString() });
      const res = await postJson(app, '/v1/claims', await stampedClaimBody(app, key, env));
      expect(res.status, await res.clone().text()).toBe(202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    return ids;
  }
  async function lease(): Promise<string | null> {
    const res = await postJson(app, '/v1/replay/lease', { request: signWorkerRequest(worker.secretKey, { action: 'lease', worker: instance }) });
    expect(res.status).toBe(200);
    return ((await res.json()) as { job: { claim: { id: string } } | null }).job?.claim.id ?? null;
  }

  it('publishes a difficulty that rises with the queue and falls back as it drains', async () => {
    const before = await difficulty();
    expect(before.bits).toBe(difficultyFor(4, before.queueDepth));
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(...(await enqueue()));
    const risen = await difficulty();
    expect(risen.queueDepth).toBe(before.queueDepth + ids.length);
    expect(risen.bits).toBeGreaterThan(before.bits);
    await ctx.db.update(replayJobs).set({ state: 'done' }).where(inArray(replayJobs.claimId, ids));
    expect(await difficulty()).toEqual(before);
  });

  it('serves a clean submitter before one with a rejected history, and an old job before both', async () => {
    const clean = newKey();
    const spammer = newKey();
    const [spam] = await enqueue(spammer);
    const [good] = await enqueue(clean);
    await ctx.db.update(submitterKeys).set({ reputation: -10, rejectedCount: 5 }).where(eq(submitterKeys.publicKey, spammer.hex));
    expect(await lease()).toBe(good);
    expect(await lease()).toBe(spam);

    const [oldSpam] = await enqueue(spammer);
    const [newGood] = await enqueue(clean);
    // Three hours of waiting outweigh the record: no job waits forever.
    await ctx.db.update(replayJobs).set({ createdAt: new Date(Date.now() - 3 * 3600_000) }).where(eq(replayJobs.claimId, oldSpam!));
    expect(await lease()).toBe(oldSpam);
    expect(await lease()).toBe(newGood);
  });

  it('refuses a claim whose stamp was mined for another claim, and one below the difficulty', async () => {
    const key = newKey();
    const { bits } = await difficulty();
    const a = signedClaim(key, { task: 'queue-task', ...(await putCommit(app, syntheticCommit('queue-a'))) });
    const stampA = (await stampedClaimBody(app, key, a)).stamp;
    // Pick the other claim so that A's stamp is surely too weak for it (a random stamp passes with odds 2^-bits).
    const onB = await putCommit(app, syntheticCommit('queue-b'));
    let b = signedClaim(key, { task: 'queue-task', ...onB });
    for (let i = 0; stampBits(claimIdOf(Buffer.from(b.payload, 'base64')), stampA) >= bits; i++) {
      b = signedClaim(key, { task: 'queue-task', ...onB, createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() });
    }
    const copied = await postJson(app, '/v1/claims', withIntake({ claim: b, evidence: [], stamp: stampA }, key));
    expect(copied.status).toBe(422);
    expect(((await copied.json()) as { error: { code: string } }).error.code).toBe('bad_stamp');
    const idB = claimIdOf(Buffer.from(b.payload, 'base64'));
    let weak = 0;
    while (stampBits(idB, { nonce: weak.toString(16) }) >= bits) weak++;
    const res = await postJson(app, '/v1/claims', withIntake({ claim: b, evidence: [], stamp: { nonce: weak.toString(16) } }, key));
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('bad_stamp');
    const none = await postJson(app, '/v1/claims', withIntake({ claim: b, evidence: [] }, key));
    expect(none.status).toBe(428);
    expect(await difficulty()).toMatchObject({ bits });
  });
});
