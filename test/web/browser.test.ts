// The web page in a real browser (headless Chromium) against a real HTTP server on a seeded database: order and badges,
// the recheck command, a pending claim turning verified while the page is open, keyboard-only use, a phone-sized
// layout, no CSP violations. Each page's screenshot is saved under test-results/web/.
import { serve, type ServerType } from '@hono/node-server';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import type { AppContext } from '../../src/service/context.ts';
import { makeTestContext } from '../helpers/context.ts';
import { logVerifierKey } from '../../src/service/views/log-read.ts';
import { browserAvailable, launchBrowser, screenshotPath } from './browser.ts';
import { decide, seedLeaderboard, type Seeded } from './seed.ts';

const run = browserAvailable();

describe.skipIf(!run)('web page in Chromium', () => {
  let ctx: AppContext;
  let close: () => Promise<void>;
  let server: ServerType;
  let origin: string;
  let browser: Browser;
  let desktop: BrowserContext;
  let seeded: Seeded;
  const problems: string[] = [];

  beforeAll(async () => {
    const t = await makeTestContext('pglite');
    ctx = t.ctx;
    close = t.close;
    const app = createApp(ctx, { log: () => {} });
    seeded = await seedLeaderboard(ctx, app);
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    const address = server.address();
    origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    browser = await launchBrowser();
    desktop = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await close?.();
  });

  // Every page must run without console errors: a CSP violation (an inline style or script slipping in) shows here.
  const open = async (context: BrowserContext, path: string): Promise<Page> => {
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`${path}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`${path}: ${e.message}`));
    await page.goto(origin + path);
    return page;
  };

  it('shows the tasks', async () => {
    const page = await open(desktop, '/');
    expect(await page.locator('h1').textContent()).toBe('Tasks');
    await expect(page.locator('a.card').first().textContent()).resolves.toContain('Handwritten digits');
    await page.screenshot({ path: screenshotPath('tasks'), fullPage: true });
    await page.close();
  });

  it('ranks the leaderboard best first with the right badges, disputed entries struck through', async () => {
    const page = await open(desktop, '/tasks/digits-mlp');
    const rows = page.locator('table.leaderboard tbody tr');
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-claim')))).toEqual([
      seeded.disputed,
      seeded.replayed,
      seeded.attested,
      seeded.zkAudited,
    ]);
    const badges = await rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('.badge')].map((b) => b.textContent)));
    expect(badges).toEqual([['disputed'], ['replayed'], ['attested'], ['zk', 'audited']]);
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.querySelector('td.rank')!.textContent))).toEqual(['—not ranked', '1', '2', '3']);
    const struck = await page.locator('tr.disputed s').first().evaluate((s) => getComputedStyle(s).textDecorationLine);
    expect(struck).toContain('line-through');
    expect(await page.locator('svg.chart circle.point').count()).toBe(3);
    await page.screenshot({ path: screenshotPath('leaderboard'), fullPage: true });
    await page.close();
  });

  it('shows a claim with its evidence, verdict, log leaf and exact recheck command', async () => {
    const page = await open(desktop, `/claims/${seeded.zkAudited}`);
    expect((await page.locator('#recheck-command').textContent())!.trim()).toBe(
      `proofboard recheck ${seeded.zkAudited} --server ${origin} --log-key ${logVerifierKey(ctx)}`,
    );
    expect(await page.locator('#verdict-h + dl').textContent()).toContain('groth16 proof over 1 shard(s)');
    expect(await page.locator('#log-h + .panel').textContent()).toMatch(/leaf #\d+/);
    await expect(page.locator('button[data-copy]').isVisible()).resolves.toBe(true);
    await page.screenshot({ path: screenshotPath('claim'), fullPage: true });
    await page.close();
  });

  it('turns a pending claim verified without a manual reload', async () => {
    const page = await open(desktop, `/claims/${seeded.queued}`);
    expect(await page.locator('.status-line .badge').first().textContent()).toBe('pending');
    expect(await page.locator('[data-pending-text]').textContent()).toBe('replay queued');
    await page.screenshot({ path: screenshotPath('claim-pending'), fullPage: true });
    await decide(ctx, seeded.queued, { status: 'verified', method: 'replayed', reasonCode: null, rule: 'replay by 1 verifier within abs 0' }, new Date());
    // The page's own script polls the claim and reloads itself: no page.reload() here.
    await page.locator('.status-line .badge.verified').waitFor({ timeout: 60_000 });
    expect(await page.locator('.status-line .badge.replayed').count()).toBe(1);
    expect(await page.locator('[data-poll-claim]').count()).toBe(0);
    await page.screenshot({ path: screenshotPath('claim-verified-live'), fullPage: true });
    await page.close();
  });

  it('works with the keyboard only: skip link, visible focus, links reachable and followed with Enter', async () => {
    const page = await open(desktop, '/tasks/digits-mlp');
    await page.keyboard.press('Tab');
    const first = await page.evaluate(() => ({ text: document.activeElement?.textContent, outline: getComputedStyle(document.activeElement!).outlineStyle }));
    expect(first.text).toBe('Skip to content');
    expect(first.outline).not.toBe('none');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    // From the content, Tab walks to the first leaderboard link (past breadcrumbs and the scrollable table region).
    let reached = false;
    for (let i = 0; i < 10 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.closest('tr[data-claim]') !== null && document.activeElement?.tagName === 'A');
    }
    expect(reached).toBe(true);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/claims\/[0-9a-f]{64}$/);
    expect(await page.locator('h1').textContent()).toContain('correct');
    await page.close();
  });

  it('fits a phone screen without horizontal scrolling of the page', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    for (const [name, path] of [
      ['leaderboard-phone', '/tasks/digits-mlp'],
      ['claim-phone', `/claims/${seeded.running}`],
    ] as const) {
      const page = await open(phone, path);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, path).toBeLessThanOrEqual(0);
      await page.screenshot({ path: screenshotPath(name), fullPage: true });
      await page.close();
    }
    await phone.close();
  });

  it('ran every page without console errors or CSP violations', () => {
    expect(problems).toEqual([]);
  });
});
