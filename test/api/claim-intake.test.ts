// Issue 15, finding 1: a claim is bound by its submitter's intake signature to the evidence it came with and to this
// deployment's log. Before it, whoever saw a signed claim could post it first with junk evidence (rejected for good in
// its owner's name, the owner's real proof then answered `created: false`), or post it to another deployment.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count, eq } from 'drizzle-orm';
import { createApp, type Api } from '../../src/api/app.ts';
import { claimIdOf, signClaim, type ClaimPayload } from '../../src/attest/claim.ts';
import { signIntake } from '../../src/attest/intake.ts';
import type { AppContext } from '../../src/service/context.ts';
import { claims } from '../../db/schema.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { makeTestContext } from '../helpers/context.ts';
import { newKey, onCommit, postJson, putBlob, withIntake } from '../helpers/claims.ts';
import { syntheticCommit } from '../helpers/git-objects.ts';
import { recheckOverApp } from '../helpers/recheck-app.ts';
import { evidenceDigest } from '../../src/verdict/evidence-digest.ts';

const fixtures = join(import.meta.dirname, '..', 'zk', 'fixtures');
const fixture = JSON.parse(readFileSync(join(fixtures, 'claim.json'), 'utf8')) as ClaimPayload;
const proof = JSON.parse(readFileSync(join(fixtures, 'valid-evidence.json'), 'utf8')) as Record<string, unknown>;
// The fixtures' submitter key (test/zk/fixtures/make-fixtures.ts): the proofs are bound to it. Here it is Alice's.
const aliceSecret = new Uint8Array(32).fill(7);

type Answer = { id: string; status: string; created: boolean; error?: { code: string; message: string } };

describe.each(databaseKinds())('claim intake binding on %s', (kind) => {
  let ctx: AppContext;
  let app: Api;
  let close: () => Promise<void>;
  const mallory = newKey();
  const post = async (body: unknown) => {
    const res = await postJson(app, '/v1/claims', body);
    return { status: res.status, body: (await res.json()) as Answer };
  };
  const storedClaims = async (id: string) => (await ctx.db.select({ n: count() }).from(claims).where(eq(claims.id, id)))[0]!.n;

  beforeAll(async () => {
    const t = await makeTestContext(kind);
    ctx = t.ctx;
    close = t.close;
    app = createApp(ctx, { log: () => {} });
    // The fixture's bundle, and one for each commit the claims below name.
    for (const c of [syntheticCommit('zk-fixture'), ...['a1', 'b2', 'b3', 'c4'].map((l) => syntheticCommit(`intake-${l}`))]) {
      expect((await putBlob(app, c.bundle)).status).toBe(201);
    }
  });
  afterAll(async () => close());

  it('a copied claim cannot be posted first with junk evidence: the owner\'s proof still verifies it', async () => {
    const alice = signClaim({ ...fixture, createdAt: '2026-12-07T06:00:00.000Z' }, aliceSecret);
    const id = claimIdOf(Buffer.from(alice.payload, 'base64'));
    // The proof with one public signal changed: false evidence, which rejects a claim for good.
    const shard = (proof.shards as { publicSignals: string[] }[])[0]!;
    const junk = [{ ...proof, shards: [{ ...shard, publicSignals: shard.publicSignals.map((v, i) => (i === 0 ? String(BigInt(v) + 1n) : v)) }] }];

    // Without any intake, with an intake Mallory signs, and with Alice's intake for other evidence: all refused.
    const bare = await post({ claim: alice, evidence: junk });
    expect([bare.status, bare.body.error?.code]).toEqual([401, 'bad_intake']);
    const signedByMallory = await post({ claim: alice, evidence: junk, intake: signIntake({ claimId: id, audience: 'test.proofboard/log', evidence: junk.map(evidenceDigest) }, mallory.secretKey, mallory.hex) });
    expect([signedByMallory.status, signedByMallory.body.error?.code]).toEqual([401, 'bad_intake']);
    const { intake: aliceIntake } = withIntake({ claim: alice, evidence: [proof] }, aliceSecret);
    const swapped = await post({ claim: alice, evidence: junk, intake: aliceIntake });
    expect([swapped.status, swapped.body.error?.code]).toEqual([422, 'intake_mismatch']);
    const dropped = await post({ claim: alice, evidence: [], intake: aliceIntake });
    expect([dropped.status, dropped.body.error?.code]).toEqual([422, 'intake_mismatch']);
    expect(await storedClaims(id)).toBe(0);

    const owner = await post({ claim: alice, evidence: [proof], intake: aliceIntake });
    expect(owner.status).toBe(200);
    expect(owner.body).toMatchObject({ id, status: 'verified', created: true });
  });

  it('the same claim with the same evidence is one claim; with other evidence it is refused, not silently kept', async () => {
    const key = newKey();
    const claim = signClaim({ ...fixture, submitter: key.hex, ...onCommit(syntheticCommit('intake-a1')), createdAt: '2026-12-07T06:01:00.000Z' }, key.secretKey);
    // Junk proofs bound to another key: a false-evidence rejection is a final verdict, which is what a thief wanted.
    const first = await post(withIntake({ claim, evidence: [proof] }, key));
    expect(first.body).toMatchObject({ status: 'rejected', created: true });
    const again = await post(withIntake({ claim, evidence: [proof] }, key));
    expect([again.status, again.body.created, again.body.id]).toEqual([200, false, first.body.id]);
    const other = await post(withIntake({ claim, evidence: [] }, key));
    expect([other.status, other.body.error?.code]).toEqual([409, 'claim_evidence_differs']);
  });

  it('an intake for another deployment, or for another claim, is refused', async () => {
    const key = newKey();
    const claim = signClaim({ ...fixture, submitter: key.hex, ...onCommit(syntheticCommit('intake-b2')), createdAt: '2026-12-07T06:02:00.000Z' }, key.secretKey);
    const elsewhere = await post(withIntake({ claim, evidence: [] }, key, 'board.example.org/log'));
    expect([elsewhere.status, elsewhere.body.error?.code]).toEqual([422, 'wrong_audience']);
    const otherClaim = signClaim({ ...fixture, submitter: key.hex, ...onCommit(syntheticCommit('intake-b3')) }, key.secretKey);
    const { intake } = withIntake({ claim: otherClaim, evidence: [] }, key);
    const misnamed = await post({ claim, evidence: [], intake });
    expect([misnamed.status, misnamed.body.error?.code]).toEqual([422, 'intake_mismatch']);
    // A malformed intake is a 4xx with its code, never a 500.
    for (const bad of [null, 'x', { payloadType: 'application/vnd.proofboard.intake.v1+json', payload: '', signatures: [] }, { ...intake, payloadType: 'application/vnd.proofboard.claim.v1+json' }]) {
      const res = await post({ claim, evidence: [], intake: bad });
      expect(res.status, JSON.stringify(bad)).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
    expect(await storedClaims(claimIdOf(Buffer.from(claim.payload, 'base64')))).toBe(0);
  });

  it('the bundle carries the intake and a re-check verifies it; evidence swapped in storage is caught', async () => {
    const key = newKey();
    const claim = signClaim({ ...fixture, submitter: key.hex, ...onCommit(syntheticCommit('intake-c4')), createdAt: '2026-12-07T06:03:00.000Z' }, key.secretKey);
    const sent = await post(withIntake({ claim, evidence: [proof] }, key));
    expect(sent.body.created).toBe(true);
    const bundle = (await (await app.request(`/v1/claims/${sent.body.id}/bundle`)).json()) as { intake: { payloadType: string } };
    expect(bundle.intake.payloadType).toBe('application/vnd.proofboard.intake.v1+json');
    const good = await recheckOverApp(app, [sent.body.id]);
    expect(good.claims[0]!.checks.find((c) => c.id === 'claim.intake')?.status).toBe('pass');

    // An operator who rewrites what the submitter sent (here: drops the intake) is caught by any re-check.
    await ctx.db.update(claims).set({ intakeEnvelope: null }).where(eq(claims.id, sent.body.id));
    const dropped = await recheckOverApp(app, [sent.body.id]);
    expect(dropped.claims[0]!.checks.find((c) => c.id === 'claim.intake')?.status).toBe('fail');
  });
});
