// Hostile input over POST /v1/claims and PUT /v1/blobs: always a 4xx with a code from the closed set, never a
// 500, and the database unchanged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { count } from 'drizzle-orm';
import { createApp, type Api } from '../../src/api/app.ts';
import * as schema from '../../db/schema.ts';
import type { AppContext } from '../../src/service/context.ts';
import { ERROR_STATUS } from '../../src/service/errors.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { makeTestContext } from '../helpers/context.ts';
import { DEFAULT_COMMIT, claimPayload, newKey, putBlob, sha256Hex, signedClaim } from '../helpers/claims.ts';
import { signDsse } from '../../src/attest/dsse.ts';
import { CLAIM_PAYLOAD_TYPE } from '../../src/attest/claim.ts';

const CODES = new Set(Object.keys(ERROR_STATUS));

async function snapshot(ctx: AppContext) {
  const out: Record<string, number> = {};
  for (const [name, table] of Object.entries({
    claims: schema.claims,
    evidence: schema.evidence,
    blobs: schema.blobs,
    submitters: schema.submitterKeys,
    verdicts: schema.verdicts,
    jobs: schema.replayJobs,
    leaves: schema.logLeaves,
  })) {
    const [row] = await ctx.db.select({ n: count() }).from(table);
    out[name] = row!.n;
  }
  return out;
}

async function expectRefused(res: Response) {
  const text = await res.text();
  expect(res.status, text).toBeGreaterThanOrEqual(400);
  expect(res.status, text).toBeLessThan(500);
  const body = JSON.parse(text) as { error: { code: string; message: string } };
  expect(CODES.has(body.error.code), body.error.code).toBe(true);
  expect(body.error.message.length).toBeGreaterThan(0);
  return body.error.code;
}

function post(app: Api, body: string | Uint8Array, contentType = 'application/json') {
  return app.request('/v1/claims', { method: 'POST', body: body as unknown as BodyInit, headers: { 'content-type': contentType } });
}

describe.each(databaseKinds())('hostile input on %s', (kind) => {
  let ctx: AppContext;
  let app: Api;
  let close: () => Promise<void>;
  let before: Record<string, number>;
  const key = newKey();
  const good = signedClaim(key);

  beforeAll(async () => {
    const t = await makeTestContext(kind, {});
    ctx = t.ctx;
    ctx.config = { ...ctx.config, maxBlobBytes: 64 * 1024, maxBodyBytes: 256 * 1024 };
    close = t.close;
    app = createApp(ctx, { log: (m, e) => console.error(m, e) });
    await putBlob(app, DEFAULT_COMMIT.bundle);
    before = await snapshot(ctx);
  });
  afterAll(async () => close());

  it('random JSON bodies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        await expectRefused(await post(app, JSON.stringify(value)));
      }),
      { numRuns: 150 },
    );
    expect(await snapshot(ctx)).toEqual(before);
  });

  it('random bytes, truncated bodies, wrong content types', async () => {
    const full = JSON.stringify({ claim: good });
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), fc.nat({ max: full.length - 1 }), async (bytes, cut) => {
        await expectRefused(await post(app, bytes));
        await expectRefused(await post(app, full.slice(0, cut)));
      }),
      { numRuns: 100 },
    );
    await expectRefused(await post(app, full, 'text/plain'));
    expect(await snapshot(ctx)).toEqual(before);
  });

  it('mutated envelopes: every field replaced by arbitrary JSON or a flipped character', async () => {
    const fields = ['payloadType', 'payload', 'signatures'] as const;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...fields), fc.jsonValue(), async (field, value) => {
        await expectRefused(await post(app, JSON.stringify({ claim: { ...good, [field]: value } })));
      }),
      { numRuns: 150 },
    );
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: good.payload.length - 1 }), fc.nat({ max: good.signatures[0]!.sig.length - 1 }), async (i, j) => {
        const flip = (s: string, k: number) => s.slice(0, k) + (s[k] === 'A' ? 'B' : 'A') + s.slice(k + 1);
        await expectRefused(await post(app, JSON.stringify({ claim: { ...good, payload: flip(good.payload, i) } })));
        const sig = flip(good.signatures[0]!.sig, j);
        await expectRefused(await post(app, JSON.stringify({ claim: { ...good, signatures: [{ keyid: key.hex, sig }] } })));
      }),
      { numRuns: 100 },
    );
    expect(await snapshot(ctx)).toEqual(before);
  });

  it('signed but absurd claims: metric NaN, Infinity, 1e309, strings, wrong shapes; validly signed each time', async () => {
    const absurd = [
      'NaN', 'Infinity', '-Infinity', '1e309', '"0.97"', 'null', '[]', '{}', '1e13', 'true',
    ];
    for (const value of absurd) {
      const payload = JSON.stringify(claimPayload(key)).replace('"value":90', `"value":${value}`);
      const env = signDsse(CLAIM_PAYLOAD_TYPE, new TextEncoder().encode(payload), key.secretKey, key.hex);
      expect(await expectRefused(await post(app, JSON.stringify({ claim: env }))), value).toBe('bad_claim');
    }
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          commit: fc.oneof(fc.string(), fc.stringMatching(/^[0-9a-fA-F]{39,41}$/).filter((s) => s.length !== 40 || /[A-F]/.test(s))),
          task: fc.string({ maxLength: 80 }).filter((s) => !/^[a-z0-9][a-z0-9-]{0,62}$/.test(s)),
          extra: fc.string({ minLength: 1, maxLength: 8 }).filter((s) => !(s in claimPayload(key))),
        }),
        async ({ commit, task, extra }) => {
          for (const over of [{ commit }, { task }, { [extra]: 1 }]) {
            const payload = { ...claimPayload(key), ...over };
            const env = signDsse(CLAIM_PAYLOAD_TYPE, new TextEncoder().encode(JSON.stringify(payload)), key.secretKey, key.hex);
            await expectRefused(await post(app, JSON.stringify({ claim: env })));
          }
        },
      ),
      { numRuns: 60 },
    );
    expect(await snapshot(ctx)).toEqual(before);
  });

  it('U+0000 anywhere in the body (evidence, an envelope field, a key), and nesting 100,000 deep', async () => {
    const claim = signedClaim(newKey());
    const bodies: unknown[] = [
      { claim, evidence: [{ type: 'zk', junk: 'a\u0000b' }] },
      { claim, evidence: [{ type: 'attestation', envelope: { payloadType: 'x', payload: '', signatures: [{ keyid: '\u0000', sig: '' }] } }] },
      { claim: { ...claim, payloadType: `${claim.payloadType}\u0000` }, evidence: [] },
      { claim, evidence: [{ type: 'zk', ['k\u0000']: 1 }] },
    ];
    for (const body of bodies) expect(await expectRefused(await post(app, JSON.stringify(body)))).toBe('bad_json');
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    await expectRefused(await post(app, deep));
    expect(await snapshot(ctx)).toEqual(before);
  });

  it('another payload type, several signatures, an oversized body', async () => {
    const other = signDsse('application/vnd.in-toto+json', Buffer.from(good.payload, 'base64'), key.secretKey, key.hex);
    expect(await expectRefused(await post(app, JSON.stringify({ claim: other })))).toBe('wrong_payload_type');
    const twice = { ...good, signatures: [good.signatures[0]!, good.signatures[0]!] };
    expect(await expectRefused(await post(app, JSON.stringify({ claim: twice })))).toBe('bad_envelope');
    const huge = JSON.stringify({ claim: good, evidence: [{ type: 'zk', pad: 'x'.repeat(300 * 1024) }] });
    expect(await expectRefused(await post(app, huge))).toBe('body_too_large');
    expect(await snapshot(ctx)).toEqual(before);
  });

  it('blob uploads: non-hex digests, digest mismatch, oversized', async () => {
    const put = (ref: string, body: Uint8Array, headers: Record<string, string> = {}) =>
      app.request(`/v1/blobs/${ref}`, { method: 'PUT', body: body as unknown as BodyInit, headers: { 'content-type': 'application/octet-stream', ...headers } });
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 80 }), fc.uint8Array({ maxLength: 64 }), async (ref, body) => {
        fc.pre(!/^sha256:[0-9a-f]{64}$/.test(ref) && !ref.includes('/') && !ref.includes('?') && !ref.includes('#') && ref !== '' && ref !== '.' && ref !== '..');
        await expectRefused(await put(encodeURIComponent(ref), body));
      }),
      { numRuns: 100 },
    );
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 256 }), async (body) => {
        const wrong = sha256Hex(Buffer.concat([Buffer.from(body), Buffer.from([1])]));
        expect(await expectRefused(await put(`sha256:${wrong}`, body))).toBe('digest_mismatch');
      }),
      { numRuns: 50 },
    );
    expect(await expectRefused(await put(`sha256:${'A'.repeat(64)}`, new Uint8Array(1)))).toBe('bad_request');
    const big = new Uint8Array(65 * 1024);
    expect(await expectRefused(await put(`sha256:${sha256Hex(big)}`, big))).toBe('blob_too_large');
    // Lying about the length does not help: the store counts the bytes it actually receives.
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 80; i++) c.enqueue(new Uint8Array(1024));
        c.close();
      },
    });
    const res = await app.request(`/v1/blobs/sha256:${'0'.repeat(64)}`, { method: 'PUT', body: stream, duplex: 'half', headers: { 'content-type': 'application/octet-stream' } } as RequestInit);
    expect(await expectRefused(res)).toBe('blob_too_large');
    expect(await snapshot(ctx)).toEqual(before);
  });
});
