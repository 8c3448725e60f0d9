// Lists of claims (GET /v1/claims with filters and pages, GET /v1/submitters/:key), the pages over them (/claims,
// /submitters/:key), and the HTML 404 for every page path that does not exist, on both databases.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type Api } from '../../src/api/app.ts';
import type { AppContext } from '../../src/service/context.ts';
import { makeTestContext } from '../helpers/context.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { seedLeaderboard, type Seeded } from './seed.ts';

type Listed = { claims: { id: string; status: string; submitter: string; task: string; receivedAt: string }[]; next: string | null };

describe.each(databaseKinds())('claim lists on %s', (kind) => {
  let ctx: AppContext;
  let app: Api;
  let close: () => Promise<void>;
  let seeded: Seeded;

  beforeAll(async () => {
    const t = await makeTestContext(kind);
    ctx = t.ctx;
    close = t.close;
    app = createApp(ctx, { log: () => {} });
    seeded = await seedLeaderboard(ctx, app);
  });
  afterAll(async () => close());

  const list = async (query: string) => {
    const res = await app.request(`/v1/claims?${query}`);
    return { status: res.status, body: (await res.json()) as Listed & { error?: { code: string; message: string } } };
  };
  const all = () => Object.values({ ...seeded, keys: undefined }).filter((v): v is string => typeof v === 'string');

  it('filters by task, status and submitter', async () => {
    const pending = await list('task=digits-mlp&status=pending');
    expect(pending.status).toBe(200);
    expect(pending.body.claims.map((c) => c.id).sort()).toEqual([seeded.queued, seeded.running].sort());
    const alice = await list(`submitter=${seeded.keys.alice.hex}`);
    expect(alice.body.claims.map((c) => c.id).sort()).toEqual([seeded.zkAudited, seeded.replayed, seeded.running].sort());
    const rejected = await list('status=rejected');
    expect(rejected.body.claims).toMatchObject([{ id: seeded.rejected, status: 'rejected', reasonCode: 'zk_pairing_failed' }]);
    expect((await list('task=no-such-task')).body).toEqual({ claims: [], next: null });
  });

  it('pages through every claim newest first, none skipped or repeated', async () => {
    const seen: Listed['claims'] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const page = await list(`limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.claims.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.claims);
      cursor = page.body.next;
      if (!cursor) break;
    }
    expect(cursor).toBeNull();
    expect(seen.map((c) => c.id).sort()).toEqual(all().sort());
    const order = seen.map((c) => `${c.receivedAt}|${c.id}`);
    expect(order).toEqual([...order].sort().reverse());
  });

  it('refuses malformed filters with a 400 and a code', async () => {
    for (const q of ['status=won', 'limit=0', 'limit=201', 'submitter=ABC', 'commit=xyz', 'cursor=bm90IGEgY3Vyc29y', 'colour=red']) {
      const r = await list(q);
      expect(r.status, q).toBe(400);
      expect(r.body.error?.code, q).toMatch(/^bad_/);
    }
  });

  it("serves a submitter's record, and 404 for a key never seen", async () => {
    const res = await app.request(`/v1/submitters/${seeded.keys.carol.hex}`);
    expect(res.status).toBe(200);
    const record = (await res.json()) as Record<string, unknown>;
    expect(record).toMatchObject({ publicKey: seeded.keys.carol.hex, bannedAt: null });
    expect(typeof record.reputation).toBe('number');
    const unknown = await app.request(`/v1/submitters/${'ab'.repeat(32)}`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('the /claims page lists pending and rejected claims with links, filtered by its form', async () => {
    const res = await app.request('/claims?status=rejected');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(`data-claim="${seeded.rejected}"`);
    expect(html).toContain('zk_pairing_failed');
    expect(html).not.toContain(`data-claim="${seeded.replayed}"`);
    expect(html).toContain(`href="/submitters/${seeded.keys.carol.hex}"`);
    expect(html).toContain(`href="/claims/${seeded.rejected}"`);
    expect(html).toMatch(/<option value="rejected" selected/);
    // A blank field of the form is no filter.
    const blank = await (await app.request('/claims?task=&status=&submitter=&commit=')).text();
    for (const id of all()) expect(blank).toContain(`data-claim="${id}"`);
    const bad = await app.request('/claims?status=won');
    expect(bad.status).toBe(404);
    expect(bad.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it("the submitter page shows the key's record and only its claims, with a next link across pages", async () => {
    const res = await app.request(`/submitters/${seeded.keys.alice.hex}?limit=2`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(seeded.keys.alice.hex);
    expect(html).toMatch(/<b>\d+<\/b> verified, <b>\d+<\/b> rejected, <b>\d+<\/b> disputed/);
    const rows = [...html.matchAll(/data-claim="([0-9a-f]{64})"/g)].map((m) => m[1]);
    expect(rows).toHaveLength(2);
    const next = /href="(\/submitters\/[0-9a-f]{64}\?[^"]+)" rel="next"/.exec(html)?.[1]?.replaceAll('&amp;', '&');
    expect(next).toBeDefined();
    const rest = await (await app.request(next!)).text();
    const more = [...rest.matchAll(/data-claim="([0-9a-f]{64})"/g)].map((m) => m[1]);
    expect([...rows, ...more].sort()).toEqual([seeded.zkAudited, seeded.replayed, seeded.running].sort());
    expect((await app.request(`/submitters/${'ab'.repeat(32)}`)).status).toBe(404);
    expect((await app.request('/submitters/not-a-key')).status).toBe(404);
  });

  it('answers every page path that does not exist with the HTML 404 page, API paths with JSON', async () => {
    for (const path of ['/nope', '/tasks/', '/tasks', '/claims/', '/tasks/digits-mlp/', '/favicon.ico', '/submitters/', '/a/b/c']) {
      const res = await app.request(path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toMatch(/^text\/html/);
      expect(await res.text(), path).toContain('<h1>Not found</h1>');
    }
    for (const path of ['/v1/nope', '/v1/claims/x/y/z']) {
      const res = await app.request(path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toMatch(/^application\/json/);
    }
  });
});
