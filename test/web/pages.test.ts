// The web pages through app.request(): content, escaping, headers, 404s. The browser tests (browser.test.ts) cover
// what only a browser can show: layout, keyboard use and the live update.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type Api } from '../../src/api/app.ts';
import type { AppContext } from '../../src/service/context.ts';
import { makeTestContext } from '../helpers/context.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { tasks } from '../../db/schema.ts';
import { exampleTask } from '../../src/service/example-task.ts';
import { newKey } from '../helpers/claims.ts';
import { addEvidence, commitOf, seedLeaderboard, submitPending, type Seeded } from './seed.ts';

describe.each(databaseKinds())('web pages on %s', (kind) => {
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

  const page = async (path: string) => {
    const res = await app.request(path);
    return { res, html: await res.text() };
  };

  it('lists the tasks with their best verified metric', async () => {
    const { res, html } = await page('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('href="/tasks/digits-mlp"');
    expect(html).toContain('<b>1520</b>');
  });

  it('ranks verified claims best first with a badge per method, and strikes disputed ones through', async () => {
    const { html } = await page('/tasks/digits-mlp');
    const rows = [...html.matchAll(/<tr( class="[^"]*")? data-claim="([0-9a-f]{64})"/g)].map((m) => m[2]);
    expect(rows).toEqual([seeded.disputed, seeded.replayed, seeded.attested, seeded.zkAudited]);
    const row = (id: string) => html.slice(html.indexOf(`data-claim="${id}"`), html.indexOf('</tr>', html.indexOf(`data-claim="${id}"`)));
    expect(row(seeded.replayed)).toContain('badge replayed');
    expect(row(seeded.attested)).toContain('badge attested');
    expect(row(seeded.zkAudited)).toMatch(/badge zk.*badge audited/s);
    expect(row(seeded.disputed)).toContain('<s>1600</s>');
    expect(row(seeded.disputed)).toContain('audit_contradicts');
    expect(html).not.toContain(seeded.rejected);
    // The chart has one point per improvement (1450, then 1500, then 1520; the disputed 1600 no longer counts).
    expect([...html.matchAll(/<circle class="point"/g)]).toHaveLength(3);
  });

  it('shows a claim with what its evidence proves, its verdict rule, log leaf and recheck command', async () => {
    const { html } = await page(`/claims/${seeded.zkAudited}`);
    expect(html).toContain(`proofboard recheck ${seeded.zkAudited} --server http://localhost`);
    expect(html).toContain('groth16 proof over 1 shard(s) of circuit digits-mlp-v1');
    expect(html).toMatch(/leaf <b class="mono">#\d+<\/b>/);
    expect(html).toContain('badge audited');
  });

  it('shows what a pending claim waits for and marks it for live updates', async () => {
    const queued = await page(`/claims/${seeded.queued}`);
    expect(queued.html).toContain(`data-poll-claim="${seeded.queued}"`);
    expect(queued.html).toContain('replay queued');
    const running = await page(`/claims/${seeded.running}`);
    expect(running.html).toMatch(/replay running for 1m 3\d?s|replay running for \dm/);
    const waiting = await submitPending(app, newKey(), commitOf('e7'), 1499);
    await addEvidence(ctx, waiting, { type: 'attestation', envelope: { payloadType: 'application/vnd.in-toto+json', payload: '', signatures: [{ keyid: 'k1', sig: '' }] } });
    expect((await page(`/claims/${waiting}`)).html).toMatch(/waiting for attestations \(1 of 2\)<\/span>.*replay queued/s);
    const settled = await page(`/claims/${seeded.replayed}`);
    expect(settled.html).not.toContain('data-poll-claim');
  });

  it('escapes untrusted text and sends a CSP without unsafe-inline', async () => {
    const res = await app.request('/tasks/no-such-task');
    expect(res.status).toBe(404);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await page('/claims/not-hex')).res.status).toBe(404);
    expect((await page(`/claims/${'0'.repeat(64)}`)).res.status).toBe(404);
  });

  it('serves its script and stylesheet itself, cacheable', async () => {
    const { html } = await page('/');
    const css = /href="(\/assets\/site\.[0-9a-f]{12}\.css)"/.exec(html)![1]!;
    const js = /src="(\/assets\/site\.[0-9a-f]{12}\.js)"/.exec(html)![1]!;
    const cssRes = await app.request(css);
    expect(cssRes.headers.get('content-type')).toMatch(/^text\/css/);
    expect(cssRes.headers.get('cache-control')).toContain('immutable');
    expect((await app.request(js)).status).toBe(200);
  });

  it('escapes operator-supplied text, and renders the empty states of a task with no claims', async () => {
    const hostile = '<script>alert(1)</script><img src=x onerror=alert(2)>';
    await ctx.db.insert(tasks).values({ ...exampleTask, id: 'empty-task', title: hostile, description: `"${hostile}` });
    for (const path of ['/', '/tasks/empty-task']) {
      const { res, html } = await page(path);
      expect(res.status).toBe(200);
      expect(html).not.toContain('<script>alert');
      expect(html).not.toContain('<img src=x');
      expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    }
    expect((await page('/tasks/empty-task')).html).toContain('No verified claims yet');
  });
});
