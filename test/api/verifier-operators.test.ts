// A quorum counts operators, not keys (issue 15, finding 4), through the API (app.request()): every verifier key
// belongs to an operator named when it is registered; two keys of one operator are one vote, whether each signs its
// own envelope or both co-sign one; two operators make a quorum of two; an operator's key attesting a claim signed by
// one of that operator's keys does not count unless the task's policy allows it. The claim bundle carries each key's
// operator, and the third party's re-check (the real engine, over this app) reaches the same verdicts.
// On PGlite and, with TEST_DATABASE_URL, PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type Api } from '../../src/api/app.ts';
import { claimIdOf } from '../../src/attest/claim.ts';
import type { DsseEnvelope } from '../../src/attest/dsse.ts';
import { coSignAttestation } from '../../src/attest/statement.ts';
import { exampleTask } from '../../src/service/example-task.ts';
import { replayAttestation } from '../helpers/attestations.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { recheckOverApp } from '../helpers/recheck-app.ts';
import { makeTestContext, OPERATOR_TOKEN } from '../helpers/context.ts';
import { DEFAULT_COMMIT, poolCommit, newKey, postJson, putBlob, signedClaim, withIntake, type TestKey } from '../helpers/claims.ts';

const auth = { authorization: `Bearer ${OPERATOR_TOKEN}` };
const REFUSE = 'ops-self-refused';
const ALLOW = 'ops-self-allowed';
const VALUE = 90;

type ClaimJson = { id: string; status: string; method: string | null; verdict: { rule: string } | null };
type ErrorJson = { error: { code: string; details?: { reason?: string } } };
type KeyJson = { id: string; publicKey: string; operator: string };

describe.each(databaseKinds())('verifier operators on %s', (kind) => {
  let app: Api;
  let close: () => Promise<void>;
  // lab-a registers two keys; lab-b one; lab-s owns the submitter's own key and one more.
  const [a1, a2, b1, s2] = [newKey(), newKey(), newKey(), newKey()];
  const submitter = newKey();
  let n = 0;
  const settled: string[] = [];

  beforeAll(async () => {
    const t = await makeTestContext(kind);
    close = t.close;
    app = createApp(t.ctx, { log: (m, e) => console.error(m, e) });
    expect((await putBlob(app, DEFAULT_COMMIT.bundle)).status).toBe(201);
    for (const [id, selfAttestation] of [[REFUSE, undefined], [ALLOW, 'allow']] as const) {
      const policy = { ...exampleTask.policy, ...(selfAttestation ? { selfAttestation } : {}) };
      const task = { ...exampleTask, id, title: id, policy, stampBaseBits: 0, auditFraction: 0, evalSetCommitment: null };
      const res = await postJson(app, '/v1/tasks', task, auth);
      expect(res.status, await res.clone().text()).toBe(201);
    }
    for (const [key, operator] of [[a1, 'lab-a'], [a2, 'lab-a'], [b1, 'lab-b'], [submitter, 'lab-s'], [s2, 'lab-s']] as const) {
      // One name for both of lab-a's keys, as an operator would register them.
      const res = await postJson(app, '/v1/verifier-keys', { name: operator, operator, publicKey: key.hex, tasks: [REFUSE, ALLOW] }, auth);
      expect(res.status, await res.clone().text()).toBe(201);
    }
  });
  afterAll(async () => close());

  async function postClaim(task: string, evidence: (c: { id: string; commit: string }) => DsseEnvelope[] = () => []) {
    const commit = poolCommit(++n);
    const envelope = signedClaim(submitter, { task, commit, metric: { name: 'correct', value: VALUE }, createdAt: new Date().toISOString() });
    const id = claimIdOf(Buffer.from(envelope.payload, 'base64'));
    const items = evidence({ id, commit }).map((e) => ({ type: 'attestation', envelope: e }));
    const res = await postJson(app, '/v1/claims', withIntake({ claim: envelope, evidence: items }));
    expect(res.status, await res.clone().text()).toBeLessThan(300);
    settled.push(id);
    return { id, commit };
  }
  const attest = (key: TestKey, c: { id: string; commit: string }, task: string) =>
    replayAttestation(key, { claimId: c.id, commit: c.commit, value: VALUE, now: new Date(), predicate: { task } });
  const postAttestation = (claimId: string, attestation: unknown) => postJson(app, `/v1/claims/${claimId}/attestations`, { attestation });
  const read = async (id: string) => (await (await app.request(`/v1/claims/${id}`)).json()) as ClaimJson;
  async function expectRefused(claimId: string, attestation: DsseEnvelope, reason: string) {
    const res = await postAttestation(claimId, attestation);
    const body = (await res.json()) as ErrorJson;
    expect(res.status, JSON.stringify(body)).toBe(422);
    expect(body.error).toMatchObject({ code: 'bad_attestation', details: { reason } });
  }

  it('registers each key under an operator, refuses a key without one, and shows it in the registry', async () => {
    const key = newKey();
    for (const body of [
      { name: 'no operator', publicKey: key.hex, tasks: [REFUSE] },
      { name: 'bad operator', operator: 'Lab A', publicKey: key.hex, tasks: [REFUSE] },
      { name: 'bad operator', operator: '-lab', publicKey: key.hex, tasks: [REFUSE] },
    ]) {
      const res = await postJson(app, '/v1/verifier-keys', body, auth);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    const { keys } = (await (await app.request('/v1/verifier-keys')).json()) as { keys: KeyJson[] };
    const operatorOf = new Map(keys.map((k) => [k.publicKey, k.operator]));
    expect([a1, a2, b1, submitter, s2].map((k) => operatorOf.get(k.hex))).toEqual(['lab-a', 'lab-a', 'lab-b', 'lab-s', 'lab-s']);
  });

  it("two keys of one operator, each in its own envelope, do not make quorum 2; a second operator's key does", async () => {
    const inline = await postClaim(REFUSE, (c) => [attest(a1, c, REFUSE), attest(a2, c, REFUSE)]);
    expect(await read(inline.id)).toMatchObject({ status: 'pending' });

    const late = await postClaim(REFUSE);
    expect((await postAttestation(late.id, attest(a1, late, REFUSE))).status).toBe(200);
    await expectRefused(late.id, attest(a2, late, REFUSE), 'duplicate_operator');
    expect(await read(late.id)).toMatchObject({ status: 'pending' });
    expect((await postAttestation(late.id, attest(b1, late, REFUSE))).status).toBe(200);
    expect(await read(late.id)).toMatchObject({ status: 'verified', method: 'attested', verdict: { rule: 'quorum 2/2 within abs 0' } });
  });

  it('one envelope co-signed by two keys of one operator counts once', async () => {
    const inline = await postClaim(REFUSE, (c) => [coSignAttestation(attest(a1, c, REFUSE), a2.secretKey, a2.hex)]);
    expect(await read(inline.id)).toMatchObject({ status: 'pending' });

    const late = await postClaim(REFUSE);
    expect((await postAttestation(late.id, coSignAttestation(attest(a1, late, REFUSE), a2.secretKey, a2.hex))).status).toBe(200);
    expect(await read(late.id)).toMatchObject({ status: 'pending' });
    expect((await postAttestation(late.id, attest(b1, late, REFUSE))).status).toBe(200);
    expect(await read(late.id)).toMatchObject({ status: 'verified', verdict: { rule: 'quorum 2/2 within abs 0' } });
  });

  it("a verifier key attesting its own claim, or another key of the submitter's operator, does not count by default", async () => {
    const inline = await postClaim(REFUSE, (c) => [attest(submitter, c, REFUSE), attest(b1, c, REFUSE)]);
    expect(await read(inline.id)).toMatchObject({ status: 'pending' });

    const late = await postClaim(REFUSE);
    await expectRefused(late.id, attest(submitter, late, REFUSE), 'self_attestation');
    await expectRefused(late.id, attest(s2, late, REFUSE), 'self_attestation');
    expect((await postAttestation(late.id, attest(b1, late, REFUSE))).status).toBe(200);
    expect(await read(late.id)).toMatchObject({ status: 'pending' });
    expect((await postAttestation(late.id, attest(a1, late, REFUSE))).status).toBe(200);
    expect(await read(late.id)).toMatchObject({ status: 'verified', verdict: { rule: 'quorum 2/2 within abs 0' } });
  });

  it('counts the operator attesting its own claim when the task allows it', async () => {
    const inline = await postClaim(ALLOW, (c) => [attest(submitter, c, ALLOW), attest(b1, c, ALLOW)]);
    expect(await read(inline.id)).toMatchObject({ status: 'verified', verdict: { rule: 'quorum 2/2 within abs 0' } });

    const late = await postClaim(ALLOW);
    expect((await postAttestation(late.id, attest(s2, late, ALLOW))).status).toBe(200);
    expect((await postAttestation(late.id, attest(b1, late, ALLOW))).status).toBe(200);
    expect(await read(late.id)).toMatchObject({ status: 'verified' });
  });

  it("the claim bundle names each key's operator, and the third party's re-check reaches every verdict above", async () => {
    const bundle = (await (await app.request(`/v1/claims/${settled[0]}/bundle`)).json()) as { verifierKeys: KeyJson[] };
    expect(bundle.verifierKeys.find((k) => k.publicKey === a2.hex)).toMatchObject({ operator: 'lab-a' });

    const report = await recheckOverApp(app, settled);
    expect(report.ok, JSON.stringify(report, null, 1)).toBe(true);
    expect(settled.length).toBe(8);
  });
});
