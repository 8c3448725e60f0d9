// Claims with zero-knowledge evidence through the API: verified at intake, rejected with the verifier's reason,
// malformed evidence refused, one statement counted once, unknown circuits sent to replay.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createApp, type Api } from '../../src/api/app.ts';
import type { AppContext } from '../../src/service/context.ts';
import { signClaim, claimIdOf, type ClaimPayload } from '../../src/attest/claim.ts';
import { mineStamp } from '../../src/attest/stamp.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { makeTestContext } from '../helpers/context.ts';
import { newKey, onCommit, postJson, putBlob, withIntake } from '../helpers/claims.ts';
import { syntheticCommit } from '../helpers/git-objects.ts';

const fixture = JSON.parse(readFileSync(new URL('../zk/fixtures/claim.json', import.meta.url), 'utf8')) as ClaimPayload;
const evidence = JSON.parse(readFileSync(new URL('../zk/fixtures/valid-evidence.json', import.meta.url), 'utf8')) as { circuit: string };
// The fixtures' public test key (test/zk/fixtures/make-fixtures.ts): the proofs are bound to it.
const fixtureSecret: Uint8Array = new Uint8Array(32).fill(7);
// The fixture's commit and bundle (make-fixtures.ts), and another commit the proofs do not bind.
const fixtureCommit = syntheticCommit('zk-fixture');
const otherCommit = syntheticCommit('zk-other');

type Answer = { id: string; status: string; verdict: { method: string | null; reasonCode: string | null; rule: string } | null };

describe.each(databaseKinds())('zk evidence at intake on %s', (kind) => {
  let ctx: AppContext;
  let app: Api;
  let close: () => Promise<void>;
  const claim = (over: Partial<ClaimPayload> = {}) => ({ ...fixture, ...over });
  const submit = async (payload: ClaimPayload, ev: unknown[] = [evidence], secret = fixtureSecret, extra: object = {}) => {
    const res = await postJson(app, '/v1/claims', withIntake({ claim: signClaim(payload, secret), evidence: ev, ...extra }, secret));
    return { status: res.status, body: (await res.json()) as Answer };
  };

  beforeAll(async () => {
    const t = await makeTestContext(kind);
    ctx = t.ctx;
    close = t.close;
    app = createApp(ctx, { log: (m, e) => console.error(m, e) });
    for (const c of [fixtureCommit, otherCommit]) expect((await putBlob(app, c.bundle)).status).toBe(201);
  });
  afterAll(async () => close());

  it('verifies a claim by its proofs within the request and puts it on the leaderboard', async () => {
    const r = await submit(claim());
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('verified');
    expect(r.body.verdict).toMatchObject({ method: 'zk', reasonCode: null });
    const board = (await (await app.request('/v1/tasks/digits-mlp/leaderboard')).json()) as { entries: { claimId: string; method: string }[] };
    expect(board.entries.find((e) => e.claimId === r.body.id)?.method).toBe('zk');
  });

  it('counts one statement once: the same proofs under a new claim are refused', async () => {
    const r = await submit(claim({ createdAt: '2026-11-27T09:00:00Z' }));
    expect(r.body.status).toBe('rejected');
    expect(r.body.verdict?.reasonCode).toBe('zk_statement_reused');
  });

  it('rejects proofs that do not bind to what the claim says', async () => {
    const metric = await submit(claim({ metric: { name: 'correct', value: fixture.metric.value + 1 }, createdAt: '2026-11-27T09:01:00Z' }));
    expect(metric.body.verdict?.reasonCode).toBe('zk_binding_metric');
    const commit = await submit(claim({ ...onCommit(otherCommit), createdAt: '2026-11-27T09:02:00Z' }));
    expect(commit.body.verdict?.reasonCode).toBe('zk_binding_commit');
    const mallory = newKey();
    const moved = await submit(claim({ submitter: mallory.hex, createdAt: '2026-11-27T09:03:00Z' }), [evidence], mallory.secretKey);
    expect(moved.body.status).toBe('rejected');
    expect(moved.body.verdict?.reasonCode).toBe('zk_binding_submitter');
    // Malformed evidence is not false evidence: refused at the door, nothing stored (test/api/evidence-bounds.test.ts).
    const malformed = await submit(claim({ createdAt: '2026-11-27T09:04:00Z' }), [{ ...evidence, shards: [] }]);
    expect(malformed.status).toBe(400);
    expect((malformed.body as unknown as { error: { message: string } }).error.message).toMatch(/^evidence\.0\.shards/);
  });

  it('sends a proof for an unregistered circuit to replay (with a stamp), not to rejection', async () => {
    const payload = claim({ createdAt: '2026-11-27T09:05:00Z' });
    const ev = [{ ...evidence, circuit: 'not-registered' }];
    const without = await submit(payload, ev);
    expect(without.status).toBe(428);
    const task = (await (await app.request('/v1/tasks/digits-mlp')).json()) as { stamp: { bits: number } };
    const id = claimIdOf(Buffer.from(signClaim(payload, fixtureSecret).payload, 'base64'));
    const { stamp } = mineStamp(id, task.stamp.bits);
    const r = await submit(payload, ev, fixtureSecret, { stamp });
    expect(r.status).toBe(202);
    expect(r.body.status).toBe('pending');
  });
});
