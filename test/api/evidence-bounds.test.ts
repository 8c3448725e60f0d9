// Evidence and signed payloads at intake, through the API (app.request()) on PGlite and PostgreSQL (issue 15, finding
// 8): evidence is checked by type and bounded (count, bytes per item, bytes in all) before anything is stored; JSON
// nested deep inside evidence, a lone UTF-16 surrogate or U+0000 anywhere in a body is a 4xx, never a 500; a signed
// payload (claim, attestation statement, worker request) that spells a key twice is refused, not read "last one wins".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { count } from 'drizzle-orm';
import { createApp, type Api } from '../../src/api/app.ts';
import * as schema from '../../db/schema.ts';
import type { AppContext } from '../../src/service/context.ts';
import { ERROR_STATUS } from '../../src/service/errors.ts';
import { exampleTask } from '../../src/service/example-task.ts';
import { CLAIM_PAYLOAD_TYPE, claimIdOf } from '../../src/attest/claim.ts';
import { signDsse } from '../../src/attest/dsse.ts';
import { fromBase64, utf8 } from '../../src/attest/bytes.ts';
import { IN_TOTO_PAYLOAD_TYPE } from '../../src/attest/statement.ts';
import { newWorkerInstanceId, signWorkerRequest, WORKER_REQUEST_PAYLOAD_TYPE } from '../../src/attest/worker-request.ts';
import { MAX_ATTESTATION_ITEM_BYTES, MAX_EVIDENCE_BYTES, MAX_EVIDENCE_ITEMS } from '../../src/service/judging/evidence-item.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { makeTestContext, OPERATOR_TOKEN } from '../helpers/context.ts';
import { replayAttestation } from '../helpers/attestations.ts';
import { DEFAULT_COMMIT, poolCommit, claimPayload, newKey, postJson, putBlob, signedClaim, withIntakeIfKnown } from '../helpers/claims.ts';

const auth = { authorization: `Bearer ${OPERATOR_TOKEN}` };
const CODES = new Set(Object.keys(ERROR_STATUS));
// A task whose claims go to replay without a stamp, so that a claim without settling evidence is stored at once.
const TASK = 'bounds-task';
const zkFixture = JSON.parse(readFileSync(new URL('../zk/fixtures/valid-evidence.json', import.meta.url), 'utf8')) as {
  type: 'zk';
  circuit: string;
  shards: { proof: unknown; publicSignals: string[] }[];
};

type ErrorJson = { error: { code: string; message: string; details?: { reason?: string } } };

describe.each(databaseKinds())('evidence bounds and strict signed JSON on %s', (kind) => {
  let ctx: AppContext;
  let app: Api;
  let close: () => Promise<void>;
  const verifier = newKey();
  const instance = newWorkerInstanceId();
  let commits = 0;

  beforeAll(async () => {
    const t = await makeTestContext(kind);
    ctx = t.ctx;
    close = t.close;
    app = createApp(ctx, { log: (m, e) => console.error(m, e) });
    expect((await putBlob(app, DEFAULT_COMMIT.bundle)).status).toBe(201);
    const policy = { quorum: 1, direction: 'higher', tolerance: { absolute: 0 }, runs: 1, seeds: [0] };
    const task = { ...exampleTask, id: TASK, policy, stampBaseBits: 0, auditFraction: 0, evalSetCommitment: null };
    expect((await postJson(app, '/v1/tasks', task, auth)).status).toBe(201);
    const trusted = await postJson(app, '/v1/verifier-keys', { name: 'v', operator: 'lab-v', publicKey: verifier.hex, tasks: [TASK] }, auth);
    expect(trusted.status, await trusted.clone().text()).toBe(201);
  });
  afterAll(async () => close());

  async function rows() {
    const out: Record<string, number> = {};
    for (const [name, table] of Object.entries({ claims: schema.claims, evidence: schema.evidence, leaves: schema.logLeaves })) {
      const [row] = await ctx.db.select({ n: count() }).from(table);
      out[name] = row!.n;
    }
    return out;
  }

  async function expectRefused(res: Response, code?: string): Promise<ErrorJson['error']> {
    const text = await res.text();
    expect(res.status, text.slice(0, 500)).toBeGreaterThanOrEqual(400);
    expect(res.status, text.slice(0, 500)).toBeLessThan(500);
    const { error } = JSON.parse(text) as ErrorJson;
    expect(CODES.has(error.code), error.code).toBe(true);
    if (code) expect(error.code, error.message).toBe(code);
    return error;
  }

  const nextCommit = () => poolCommit(++commits);
  const freshClaim = () => signedClaim(newKey(), { task: TASK, commit: nextCommit() });
  const post = (body: unknown) => postJson(app, '/v1/claims', withIntakeIfKnown(body));
  // An attestation-shaped item: a DSSE envelope of the in-toto type whose payload is `payloadChars` of base64.
  const attestationItem = (payloadChars: number) => ({
    type: 'attestation',
    envelope: { payloadType: IN_TOTO_PAYLOAD_TYPE, payload: 'A'.repeat(payloadChars), signatures: [{ keyid: verifier.hex, sig: 'A'.repeat(88) }] },
  });

  it('refuses junk beside a zk proof or inside an attestation, and unknown evidence types, storing nothing', async () => {
    const before = await rows();
    const bodies = [
      // 1.7 MB of junk in one zk item was stored in full.
      { claim: freshClaim(), evidence: [{ ...zkFixture, junk: 'x'.repeat(1_700_000) }] },
      { claim: freshClaim(), evidence: [{ ...zkFixture, shards: [] }] },
      { claim: freshClaim(), evidence: [{ ...attestationItem(100), junk: 'x' }] },
      { claim: freshClaim(), evidence: [{ type: 'attestation', envelope: { ...attestationItem(100).envelope, extra: 'x'.repeat(1000) } }] },
      { claim: freshClaim(), evidence: [{ type: 'attestation' }] },
      // An attestation's statement is at most 16 KiB, so its base64 at most 21,848 characters.
      { claim: freshClaim(), evidence: [attestationItem(1_300_000)] },
      { claim: freshClaim(), evidence: [{ type: 'video', url: 'x' }] },
      { claim: freshClaim(), evidence: new Array(MAX_EVIDENCE_ITEMS + 1).fill(attestationItem(100)) },
    ];
    for (const body of bodies) await expectRefused(await post(body));
    expect(await rows()).toEqual(before);
  });

  it('bounds bytes: one zk item over 256 KiB, attestations over 256 KiB in all', async () => {
    const before = await rows();
    // Well-formed by the schema (64 shards of 64 canonical signals) but 370 KB: over the per-item bound.
    const signals = new Array(64).fill('9'.repeat(77));
    const bigZk = { ...zkFixture, shards: new Array(64).fill({ proof: zkFixture.shards[0]!.proof, publicSignals: signals }) };
    const big = await expectRefused(await post({ claim: freshClaim(), evidence: [bigZk] }), 'evidence_too_large');
    expect(big.message).toMatch(/evidence\.0/);
    // Each attestation within its own bound, together over the claim's.
    const each = attestationItem(21_800);
    expect(JSON.stringify(each).length).toBeLessThanOrEqual(MAX_ATTESTATION_ITEM_BYTES);
    const n = Math.ceil(MAX_EVIDENCE_BYTES / JSON.stringify(each).length) + 1;
    await expectRefused(await post({ claim: freshClaim(), evidence: new Array(n).fill(each) }), 'evidence_too_large');
    expect(await rows()).toEqual(before);
    // Within every bound, the same items are stored as sent (they do not verify, so the claim waits for replay).
    const ok = await post({ claim: freshClaim(), evidence: [each, each] });
    expect(ok.status, await ok.clone().text()).toBe(202);
  });

  it('JSON nested 5,000 deep inside evidence is a 4xx', async () => {
    // Written as text: JSON.stringify of the value would itself run out of stack in the test.
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const before = await rows();
    const zk = JSON.stringify({ claim: freshClaim(), evidence: [{ ...zkFixture, deep: 0 }] }).replace('"deep":0', `"deep":${deep}`);
    await expectRefused(await post(zk));
    const attestation = JSON.stringify({ claim: freshClaim(), evidence: [{ type: 'attestation', envelope: 0 }] }).replace('"envelope":0', `"envelope":${deep}`);
    await expectRefused(await post(attestation));
    expect(await rows()).toEqual(before);
  });

  it('a lone UTF-16 surrogate anywhere in a body is bad_json (PostgreSQL cannot store it)', async () => {
    const before = await rows();
    const claim = freshClaim();
    const texts = [
      JSON.stringify({ claim, evidence: [{ ...zkFixture, circuit: 'x' }] }).replace('"circuit":"x"', '"circuit":"\\ud800"'),
      JSON.stringify({ claim, evidence: [{ ...attestationItem(8), note: 'y' }] }).replace('"note":"y"', '"note":"a\\udc00b"'),
      JSON.stringify({ claim, evidence: [{ ...zkFixture, k: 1 }] }).replace('"k":1', '"\\udbff":1'),
      JSON.stringify({ claim: { ...claim, payloadType: 'z' } }).replace('"payloadType":"z"', '"payloadType":"\\ud83d"'),
    ];
    for (const text of texts) await expectRefused(await post(text), 'bad_json');
    // A surrogate pair is a character like any other: refused for its shape, not as unstorable.
    const pair = JSON.stringify({ claim, evidence: [{ ...zkFixture, circuit: 'x' }] }).replace('"circuit":"x"', '"circuit":"\\ud83d\\ude00"');
    expect((await expectRefused(await post(pair))).code).not.toBe('bad_json');
    expect(await rows()).toEqual(before);
  });

  it('a claim payload that spells a key twice is refused, whichever copy would have won', async () => {
    const before = await rows();
    const key = newKey();
    const honest = JSON.stringify(claimPayload(key, { task: TASK, commit: nextCommit() }));
    const twice = [
      honest.replace('"metric":', '"metric":{"name":"correct","value":1e12},"metric":'),
      honest.replace('"task":', '"task":"digits-mlp","task":'),
      // The same key spelled with a JSON escape is the same key.
      honest.replace('"commit":', '"commit":"0000000000000000000000000000000000000000","\\u0063ommit":'),
      honest.replace('"metric":{', '"metric":{"value":0,'),
    ];
    for (const payload of twice) {
      expect(JSON.parse(payload)).toEqual(JSON.parse(honest));
      const env = signDsse(CLAIM_PAYLOAD_TYPE, utf8(payload), key.secretKey, key.hex);
      const error = await expectRefused(await post({ claim: env }), 'bad_claim');
      expect(error.message).toMatch(/duplicate/);
    }
    expect(await rows()).toEqual(before);
  });

  it('an attestation or a worker request that spells a key twice is refused', async () => {
    const envelope = freshClaim();
    const claimId = claimIdOf(fromBase64(envelope.payload, 'payload'));
    const commit = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')).commit as string;
    const res = await post({ claim: envelope });
    expect(res.status, await res.clone().text()).toBe(202);
    const honest = replayAttestation(verifier, { claimId, commit, value: 90, now: new Date(), predicate: { task: TASK } });
    const statement = Buffer.from(honest.payload, 'base64').toString('utf8');
    const twice = statement.replace('"predicateType":', '"predicateType":"https://example.com/other","predicateType":');
    expect(twice).not.toBe(statement);
    const forged = signDsse(IN_TOTO_PAYLOAD_TYPE, utf8(twice), verifier.secretKey, verifier.hex);
    const refused = await expectRefused(await postJson(app, `/v1/claims/${claimId}/attestations`, { attestation: forged }), 'bad_attestation');
    expect(refused.details?.reason).toBe('bad_statement');

    const lease = signWorkerRequest(verifier.secretKey, { action: 'lease', worker: instance, tasks: [TASK] });
    const request = Buffer.from(lease.payload, 'base64').toString('utf8').replace('"action":', '"action":"heartbeat","action":');
    const doubled = signDsse(WORKER_REQUEST_PAYLOAD_TYPE, utf8(request), verifier.secretKey, verifier.hex);
    await expectRefused(await postJson(app, '/v1/replay/lease', { request: doubled }));
  });

  it("U+0000 and lone surrogates in a worker's signed failure message: stored inert, never a 500", async () => {
    const envelope = freshClaim();
    const claimId = claimIdOf(fromBase64(envelope.payload, 'payload'));
    expect((await post({ claim: envelope })).status).toBe(202);
    let jobId = 0;
    for (;;) {
      const leased = await postJson(app, '/v1/replay/lease', { request: signWorkerRequest(verifier.secretKey, { action: 'lease', worker: instance, tasks: [TASK] }) });
      expect(leased.status, await leased.clone().text()).toBe(200);
      const { job } = (await leased.json()) as { job: { jobId: number; claim: { id: string } } | null };
      expect(job).not.toBeNull();
      if (job!.claim.id === claimId) {
        jobId = job!.jobId;
        break;
      }
    }
    const message = 'nul \u0000 lone \ud800 and \udfff end';
    const fail = signWorkerRequest(verifier.secretKey, { action: 'fail', worker: instance, jobId, failure: { code: 'training_failed', message } });
    // The outer body is plain ASCII: the message rides inside the signed payload, where the body check cannot see it.
    expect(JSON.stringify({ request: fail })).not.toMatch(/\\u0000|\\ud800/);
    const res = await postJson(app, `/v1/replay/jobs/${jobId}/fail`, { request: fail });
    expect(res.status, await res.clone().text()).toBe(200);
    const claim = (await (await app.request(`/v1/claims/${claimId}`)).json()) as { status: string };
    expect(claim.status).toBe('rejected');
  });
});
