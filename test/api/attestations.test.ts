// Attestations through the API (app.request()): POST /v1/claims/:id/attestations and attestations inside a claim.
// Hostile attestations are each refused with their own reason (error.details.reason) and leave the claim exactly as
// it was; agreeing ones from distinct trusted keys verify it; a trusted contradiction rejects or disputes it; a key
// revoked as compromised takes back everything it signed. On PGlite and, with TEST_DATABASE_URL, PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { exampleTask } from '../../src/service/example-task.ts';
import { createApp, type Api } from '../../src/api/app.ts';
import { auditLog, replayJobs } from '../../db/schema.ts';
import type { AppContext } from '../../src/service/context.ts';
import { claimIdOf } from '../../src/attest/claim.ts';
import { fromBase64, toBase64, utf8 } from '../../src/attest/bytes.ts';
import type { DsseEnvelope } from '../../src/attest/dsse.ts';
import type { ReplayResultPredicate } from '../../src/attest/statement.ts';
import { replayAttestation } from '../helpers/attestations.ts';
import { mineStamp } from '../../src/attest/stamp.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { makeTestContext, OPERATOR_TOKEN } from '../helpers/context.ts';
import { DEFAULT_COMMIT, newKey, onCommit, postJson, putBlob, signedClaim, withIntake, type TestKey } from '../helpers/claims.ts';
import { syntheticCommit, type SyntheticCommit } from '../helpers/git-objects.ts';

const auth = { authorization: `Bearer ${OPERATOR_TOKEN}` };
const CLAIMED = 90;

type ClaimJson = {
  id: string;
  status: string;
  method: string | null;
  reasonCode: string | null;
  verdict: { rule: string } | null;
  history: { status: string; reasonCode: string | null }[];
  evidence: unknown[];
};
type ErrorJson = { error: { code: string; message: string; details?: { reason?: string; requiredBits?: number } } };

describe.each(databaseKinds())('attestations API on %s', (kind) => {
  let ctx: AppContext;
  let app: Api;
  let close: () => Promise<void>;
  // The service's clock, moved by hand so key validity and revocation times are exact.
  let clock = new Date('2026-11-27T09:00:00.000Z');
  const tick = (ms = 60_000) => (clock = new Date(clock.getTime() + ms));
  const alice = newKey();
  const bob = newKey();
  const carol = newKey();
  let commits = 0;

  beforeAll(async () => {
    const t = await makeTestContext(kind, { now: () => new Date(clock) });
    ctx = t.ctx;
    close = t.close;
    app = createApp(ctx, { log: () => {} });
    expect((await putBlob(app, DEFAULT_COMMIT.bundle)).status).toBe(201);
    for (const [name, key] of [['alice', alice], ['bob', bob], ['carol', carol]] as const) await trust(name, key);
  });
  afterAll(async () => close());

  /** Each key its own operator, named after it. */
  const toOperator = (name: string) => name.replace(/ /g, '-');

  async function trust(name: string, key: TestKey, over: Record<string, unknown> = {}): Promise<string> {
    const res = await postJson(app, '/v1/verifier-keys', { name, operator: toOperator(name), publicKey: key.hex, tasks: ['digits-mlp'], ...over }, auth);
    expect(res.status, await res.clone().text()).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }

  // Each claim's real commit and bundle (intake checks that the bundle holds the commit), uploaded when it is posted.
  const made = new Map<string, SyntheticCommit>();
  // A submitter key per claim keeps the per-key pending limit out of these tests.
  function freshClaimEnvelope(metric = CLAIMED) {
    commits += 1;
    const c = syntheticCommit(`attestations ${commits}`);
    made.set(c.commit, c);
    return signedClaim(newKey(), { ...onCommit(c), metric: { name: 'correct', value: metric } });
  }

  /** POST /v1/claims, mining the proof-of-work stamp the server asks for when the claim would go to replay. */
  async function submit(envelope: DsseEnvelope, evidence: unknown[] = []) {
    const bundle = made.get(commitOf(envelope))?.bundle;
    if (bundle) expect((await putBlob(app, bundle)).status).toBeLessThan(300);
    const first = await postJson(app, '/v1/claims', withIntake({ claim: envelope, evidence }));
    if (first.status !== 428) return first;
    const required = ((await first.json()) as ErrorJson).error.details?.requiredBits as number;
    const { stamp } = mineStamp(idOf(envelope), required);
    return postJson(app, '/v1/claims', withIntake({ claim: envelope, evidence, stamp }));
  }

  async function postClaim(metric = CLAIMED) {
    const envelope = freshClaimEnvelope(metric);
    const res = await submit(envelope);
    expect(res.status, await res.clone().text()).toBeLessThan(300);
    return { id: ((await res.json()) as { id: string }).id, envelope, res };
  }

  function idOf(envelope: DsseEnvelope) {
    return claimIdOf(fromBase64(envelope.payload, 'payload'));
  }

  function commitOf(envelope: DsseEnvelope): string {
    return (JSON.parse(Buffer.from(envelope.payload, 'base64').toString()) as { commit: string }).commit;
  }

  /** A replay result for a claim, signed by `key` with its public key as the keyid hint. */
  function attest(
    claim: { id: string; envelope: DsseEnvelope },
    key: TestKey,
    opts: { value?: number; commit?: string; predicate?: Partial<ReplayResultPredicate>; keyid?: string } = {},
  ): DsseEnvelope {
    return replayAttestation(key, {
      claimId: claim.id,
      commit: opts.commit ?? commitOf(claim.envelope),
      value: opts.value ?? CLAIMED,
      now: clock,
      ...(opts.keyid ? { keyid: opts.keyid } : {}),
      ...(opts.predicate ? { predicate: opts.predicate } : {}),
    });
  }

  function postAttestation(claimId: string, attestation: unknown) {
    return postJson(app, `/v1/claims/${claimId}/attestations`, { attestation });
  }

  async function read(claimId: string): Promise<ClaimJson> {
    const res = await app.request(`/v1/claims/${claimId}`);
    expect(res.status).toBe(200);
    return (await res.json()) as ClaimJson;
  }

  async function leaderboardIds(): Promise<string[]> {
    const res = await app.request('/v1/tasks/digits-mlp/leaderboard');
    return ((await res.json()) as { entries: { claimId: string }[] }).entries.map((e) => e.claimId);
  }

  /** Refused as bad_attestation with this reason, and the claim is exactly as before. */
  async function expectRefused(claimId: string, attestation: unknown, reason: string) {
    const before = await read(claimId);
    const res = await postAttestation(claimId, attestation);
    const body = (await res.json()) as ErrorJson;
    expect(res.status, `${reason}: ${JSON.stringify(body)}`).toBe(422);
    expect(body.error.code).toBe('bad_attestation');
    expect(body.error.details?.reason).toBe(reason);
    expect(body.error.message).toContain(reason);
    const after = await read(claimId);
    expect(after.status).toBe(before.status);
    expect(after.evidence).toHaveLength(before.evidence.length);
    expect(after.history).toHaveLength(before.history.length);
  }

  it('verifies a claim when two distinct trusted keys agree (method attested) and puts it on the leaderboard', async () => {
    const claim = await postClaim();
    const first = await postAttestation(claim.id, attest(claim, alice));
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ claimId: claim.id, status: 'pending', method: null, verdict: null });
    expect(await leaderboardIds()).not.toContain(claim.id);

    const second = await postAttestation(claim.id, attest(claim, bob));
    expect(second.status).toBe(200);
    expect(await second.json()).toMatchObject({ status: 'verified', method: 'attested', verdict: { rule: 'quorum 2/2 within abs 0' } });
    const read1 = await read(claim.id);
    expect(read1).toMatchObject({ status: 'verified', method: 'attested', verdict: { rule: 'quorum 2/2 within abs 0' } });
    expect(read1.evidence).toHaveLength(2);
    expect(await leaderboardIds()).toContain(claim.id);
  });

  it('refuses an attestation by an unknown key, an expired key and a key not trusted for the task', async () => {
    const claim = await postClaim();
    await expectRefused(claim.id, attest(claim, newKey()), 'unknown_key');

    const expired = newKey();
    await trust('expired', expired, {
      validFrom: new Date(clock.getTime() - 2 * 86_400_000).toISOString(),
      validUntil: new Date(clock.getTime() - 86_400_000).toISOString(),
    });
    await expectRefused(claim.id, attest(claim, expired), 'key_expired');

    const elsewhere = newKey();
    // The registry refuses a task that does not exist, so the other task is registered first.
    expect((await postJson(app, '/v1/tasks', { ...exampleTask, id: 'other-task', evalSetCommitment: null }, auth)).status).toBe(201);
    await trust('other task', elsewhere, { tasks: ['other-task'] });
    await expectRefused(claim.id, attest(claim, elsewhere), 'key_not_trusted_for_task');

    // An empty validity window would make the whole registry unloadable: refused on update as on add.
    const keyId = await trust('window', newKey());
    const patch = (body: unknown) =>
      app.request(`/v1/verifier-keys/${keyId}`, { method: 'PATCH', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...auth } });
    const empty = await patch({ validUntil: new Date(clock.getTime() - 86_400_000).toISOString() });
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as ErrorJson).error.code).toBe('bad_request');
    const claim2 = await postClaim();
    expect((await postAttestation(claim2.id, attest(claim2, alice))).status).toBe(200);

    // One public key cannot be registered twice to be counted twice.
    const again = await postJson(app, '/v1/verifier-keys', { name: 'alice again', operator: 'alice-again', publicKey: alice.hex, tasks: ['digits-mlp'] }, auth);
    expect(again.status).toBe(409);
    expect(((await again.json()) as ErrorJson).error.code).toBe('verifier_key_exists');
  });

  it('refuses a key retired or compromised, from its revocation time on; what it sent before a retirement still counts', async () => {
    const retiring = newKey();
    const retiringId = await trust('retiring', retiring);
    const claim = await postClaim();
    tick();
    expect((await postAttestation(claim.id, attest(claim, retiring))).status).toBe(200);
    tick();
    const revoke = await postJson(app, `/v1/verifier-keys/${retiringId}/revoke`, { reason: 'retired' }, auth);
    expect(revoke.status).toBe(200);
    tick();
    // Received before the retirement: still counts toward the quorum with a second key.
    const second = await postAttestation(claim.id, attest(claim, bob));
    expect(await second.json()).toMatchObject({ status: 'verified', method: 'attested' });
    // Received after it: refused.
    const later = await postClaim();
    await expectRefused(later.id, attest(later, retiring), 'key_revoked');

    // A retirement back-dated before an attestation's time refuses it too.
    const backdated = newKey();
    const backdatedId = await trust('backdated', backdated);
    tick();
    const at = new Date(clock.getTime() - 30_000).toISOString();
    expect((await postJson(app, `/v1/verifier-keys/${backdatedId}/revoke`, { reason: 'retired', at }, auth)).status).toBe(200);
    await expectRefused(later.id, attest(later, backdated), 'key_revoked');

    const stolen = newKey();
    const stolenId = await trust('stolen', stolen);
    tick();
    expect((await postJson(app, `/v1/verifier-keys/${stolenId}/revoke`, { reason: 'compromised' }, auth)).status).toBe(200);
    await expectRefused(later.id, attest(later, stolen), 'key_revoked');
    // A revocation cannot be dated in the future (it would let the key keep counting until then, unannounced).
    const future = new Date(clock.getTime() + 3_600_000).toISOString();
    const refused = await postJson(app, `/v1/verifier-keys/${backdatedId}/revoke`, { reason: 'compromised', at: future }, auth);
    expect(refused.status).toBe(400);
  });

  it('refuses a statement about another commit, task or claim', async () => {
    const claim = await postClaim();
    // Another submitter's claim about the very same commit: a run for it must not be reused for this one.
    const sameCommit = signedClaim(newKey(), { ...onCommit(made.get(commitOf(claim.envelope))!), metric: { name: 'correct', value: CLAIMED } });
    expect((await submit(sameCommit)).status).toBe(202);
    const other = { id: idOf(sameCommit), envelope: sameCommit };
    await expectRefused(claim.id, attest(claim, alice, { commit: 'd'.repeat(40) }), 'subject_commit_mismatch');
    await expectRefused(claim.id, attest(claim, alice, { predicate: { task: 'other-task' } }), 'task_mismatch');
    await expectRefused(claim.id, attest(other, alice), 'claim_mismatch');
    await expectRefused(claim.id, attest(claim, alice, { predicate: { metric: 'accuracy' } }), 'metric_mismatch');
  });

  it('refuses a changed payloadType, a re-encoded payload, and envelopes that are not DSSE', async () => {
    const claim = await postClaim();
    const good = attest(claim, alice);
    await expectRefused(claim.id, { ...good, payloadType: 'application/json' }, 'wrong_payload_type');
    await expectRefused(claim.id, { ...good, payloadType: 'application/vnd.proofboard.claim.v1+json' }, 'wrong_payload_type');

    const statement = JSON.parse(Buffer.from(good.payload, 'base64').toString()) as Record<string, unknown>;
    const spaced = toBase64(utf8(JSON.stringify(statement, null, 2)));
    await expectRefused(claim.id, { ...good, payload: spaced }, 'bad_signature');
    const reordered = Object.fromEntries(Object.entries(statement).reverse());
    await expectRefused(claim.id, { ...good, payload: toBase64(utf8(JSON.stringify(reordered))) }, 'bad_signature');
    // Without a keyid hint, a signature that verifies under no trusted key is from an unknown key.
    const { keyid: _, ...unhinted } = good.signatures[0]!;
    await expectRefused(claim.id, { ...good, payload: spaced, signatures: [unhinted] }, 'unknown_key');

    await expectRefused(claim.id, { hello: 'world' }, 'bad_envelope');
    await expectRefused(claim.id, { ...good, signatures: [{ sig: '!!not base64!!' }] }, 'bad_envelope');
  });

  it('refuses the same signature twice, the same verifier twice under two key ids, and the same attestation twice', async () => {
    const claim = await postClaim();
    const good = attest(claim, alice);
    const sig = good.signatures[0]!;
    await expectRefused(claim.id, { ...good, signatures: [sig, sig] }, 'duplicate_signature');
    // Ed25519 is deterministic: the same key over the same payload under another keyid is the same signature.
    const otherKeyid = { keyid: 'alice-second-id', sig: sig.sig };
    await expectRefused(claim.id, { ...good, signatures: [sig, otherKeyid] }, 'duplicate_signature');

    expect((await postAttestation(claim.id, good)).status).toBe(200);
    await expectRefused(claim.id, good, 'duplicate_attestation');
    // The same attestation with another keyid hint is the same signed statement.
    await expectRefused(claim.id, { ...good, signatures: [{ keyid: 'hint', sig: sig.sig }] }, 'duplicate_attestation');
    // A second, agreeing result by the same key (another run, another keyid): one verifier, counted once.
    tick();
    const rerun = attest(claim, alice, { keyid: 'alice-second-id' });
    await expectRefused(claim.id, rerun, 'duplicate_verifier');
    expect((await read(claim.id)).status).toBe('pending');
  });

  it('refuses runs that do not match the task policy', async () => {
    const claim = await postClaim();
    await expectRefused(claim.id, attest(claim, alice, { predicate: { runs: [{ seed: 1, value: CLAIMED }] } }), 'runs_mismatch');
    const twoRuns = [{ seed: 0, value: CLAIMED }, { seed: 1, value: CLAIMED }];
    await expectRefused(claim.id, attest(claim, alice, { predicate: { runs: twoRuns } }), 'runs_mismatch');
  });

  it('answers unknown_claim for a claim that does not exist', async () => {
    const claim = await postClaim();
    const res = await postAttestation('e'.repeat(64), attest(claim, alice));
    expect(res.status).toBe(404);
    expect(((await res.json()) as ErrorJson).error.code).toBe('unknown_claim');
  });

  it('rejects a pending claim that one trusted attestation contradicts, and disputes a verified one', async () => {
    const claim = await postClaim();
    const res = await postAttestation(claim.id, attest(claim, alice, { value: CLAIMED - 1 }));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'rejected', verdict: { reasonCode: 'attestation_contradicts' } });
    const rejected = await read(claim.id);
    expect(rejected).toMatchObject({ status: 'rejected', reasonCode: 'attestation_contradicts' });
    expect(rejected.verdict!.rule).toMatch(/^contradicted by [0-9a-f]{32}: mean 89 is worse than claimed 90 beyond abs 0/);

    const verified = await postClaim();
    await postAttestation(verified.id, attest(verified, alice));
    await postAttestation(verified.id, attest(verified, bob));
    expect(await leaderboardIds()).toContain(verified.id);
    tick();
    const late = await postAttestation(verified.id, attest(verified, carol, { value: CLAIMED - 5 }));
    expect(await late.json()).toMatchObject({ status: 'disputed' });
    expect(await read(verified.id)).toMatchObject({ status: 'disputed', reasonCode: 'attestation_contradicts' });
    expect(await leaderboardIds()).not.toContain(verified.id);

    // A verifier already counted who later measures less is not a duplicate: its contradiction is kept.
    const changed = await postClaim();
    await postAttestation(changed.id, attest(changed, alice));
    await postAttestation(changed.id, attest(changed, bob));
    tick();
    const recant = await postAttestation(changed.id, attest(changed, alice, { value: CLAIMED - 1 }));
    expect(await recant.json()).toMatchObject({ status: 'disputed' });

    // Measuring better than claimed agrees (the check is one-sided).
    const modest = await postClaim();
    await postAttestation(modest.id, attest(modest, alice, { value: CLAIMED + 3 }));
    expect(await (await postAttestation(modest.id, attest(modest, bob, { value: CLAIMED }))).json()).toMatchObject({ status: 'verified' });
  });

  it('judges attestations sent inside POST /v1/claims', async () => {
    const envelope = freshClaimEnvelope();
    const claim = { id: idOf(envelope), envelope };
    const evidence = [alice, bob].map((k) => ({ type: 'attestation', envelope: attest(claim, k) }));
    const res = await submit(envelope, evidence);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: claim.id, status: 'verified', verdict: { method: 'attested', rule: 'quorum 2/2 within abs 0' } });
    expect(await leaderboardIds()).toContain(claim.id);

    const contra = freshClaimEnvelope();
    const contraClaim = { id: idOf(contra), envelope: contra };
    const mixed = [
      { type: 'attestation', envelope: attest(contraClaim, alice) },
      { type: 'attestation', envelope: attest(contraClaim, bob, { value: CLAIMED - 2 }) },
    ];
    const rejected = await submit(contra, mixed);
    expect(await rejected.json()).toMatchObject({ status: 'rejected', verdict: { reasonCode: 'attestation_contradicts' } });

    // The same key twice inside one claim counts once: quorum not reached, the claim waits for replay.
    const twice = freshClaimEnvelope();
    const twiceClaim = { id: idOf(twice), envelope: twice };
    const first = attest(twiceClaim, alice);
    tick();
    const dup = [first, attest(twiceClaim, alice, { keyid: 'again' })].map((e) => ({ type: 'attestation', envelope: e }));
    const pending = await submit(twice, dup);
    expect(pending.status).toBe(202);
    expect(await pending.json()).toMatchObject({ status: 'pending' });
    const jobs = await ctx.db.select().from(replayJobs).where(eq(replayJobs.claimId, twiceClaim.id));
    expect(jobs.map((j) => j.state)).toEqual(['queued']);

    // An attestation forged by an unknown key settles nothing: pending, queued for replay.
    const forgedEnvelope = freshClaimEnvelope();
    const forgedClaim = { id: idOf(forgedEnvelope), envelope: forgedEnvelope };
    const forged = await submit(forgedEnvelope, [{ type: 'attestation', envelope: attest(forgedClaim, newKey()) }]);
    expect(forged.status).toBe(202);
  });

  it('revoking a key as compromised takes back what it signed: quorum lost, contradiction withdrawn; audited', async () => {
    const k1 = newKey();
    const k2 = newKey();
    const k1Id = await trust('k1', k1);
    await trust('k2', k2);
    tick();
    const verified = await postClaim();
    await postAttestation(verified.id, attest(verified, k1));
    await postAttestation(verified.id, attest(verified, k2));
    const untouched = await postClaim();
    await postAttestation(untouched.id, attest(untouched, alice));
    await postAttestation(untouched.id, attest(untouched, bob));
    const contradicted = await postClaim();
    await postAttestation(contradicted.id, attest(contradicted, alice));
    await postAttestation(contradicted.id, attest(contradicted, k1, { value: CLAIMED - 1 }));
    expect((await read(contradicted.id)).status).toBe('rejected');
    expect(await leaderboardIds()).toEqual(expect.arrayContaining([verified.id, untouched.id]));

    tick();
    const revoke = await postJson(app, `/v1/verifier-keys/${k1Id}/revoke`, { reason: 'compromised' }, auth);
    expect(revoke.status).toBe(200);
    expect(await revoke.json()).toMatchObject({ id: k1Id, revocationReason: 'compromised' });

    const lost = await read(verified.id);
    expect(lost).toMatchObject({ status: 'pending', reasonCode: 'quorum_lost', verdict: { rule: 'quorum 1/2 within abs 0' } });
    expect(lost.history.map((h) => h.status)).toEqual(['verified', 'pending']);
    const [job] = await ctx.db.select().from(replayJobs).where(and(eq(replayJobs.claimId, verified.id), eq(replayJobs.kind, 'replay')));
    expect(job!.state).toBe('queued');
    expect(await read(untouched.id)).toMatchObject({ status: 'verified', method: 'attested' });
    expect(await read(contradicted.id)).toMatchObject({ status: 'pending', reasonCode: 'contradiction_withdrawn' });
    const board = await leaderboardIds();
    expect(board).not.toContain(verified.id);
    expect(board).toContain(untouched.id);

    // With another honest key the withdrawn contradiction's claim is verified after all.
    tick();
    expect(await (await postAttestation(contradicted.id, attest(contradicted, carol))).json()).toMatchObject({ status: 'verified' });

    const audits = await ctx.db.select().from(auditLog).where(eq(auditLog.target, `verifier_key:${k1Id}`));
    expect(audits.map((a) => a.action)).toEqual(['verifier_key.add', 'verifier_key.revoke']);
  });
});
