// The readers' pages in a real browser (headless Chromium) against a real HTTP server: the submitter page, the board
// with one row per commit, a claim page with a refused proof, an attestation card with a revoked key and one from the
// service's own worker, the HTML 404 for paths that do not exist, and the evidence cards on a 390 px phone. Every
// page's screenshot is kept under test-results/web/ (gitignored) as the test's artefact.
import { serve, type ServerType } from '@hono/node-server';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import type { AppContext } from '../../src/service/context.ts';
import { makeTestContext } from '../helpers/context.ts';
import { browserAvailable, launchBrowser, screenshotPath } from './browser.ts';
import { commitOf, seedLeaderboard, type Seeded } from './seed.ts';
import { seedReaders, type ReaderSeed } from './seed-readers.ts';

const run = browserAvailable();

describe.skipIf(!run)('readers’ pages in Chromium', () => {
  let ctx: AppContext;
  let close: () => Promise<void>;
  let server: ServerType;
  let origin: string;
  let browser: Browser;
  let desktop: BrowserContext;
  let seeded: Seeded;
  let extra: ReaderSeed;
  const problems: string[] = [];

  beforeAll(async () => {
    const t = await makeTestContext('pglite');
    ctx = t.ctx;
    close = t.close;
    const app = createApp(ctx, { log: () => {} });
    seeded = await seedLeaderboard(ctx, app);
    extra = await seedReaders(ctx, app, seeded);
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

  // A page that is not found is expected to answer 404; any other console error (a CSP violation) is a problem.
  const open = async (context: BrowserContext, path: string, status = 200): Promise<Page> => {
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' && !(status === 404 && /404/.test(m.text()))) problems.push(`${path}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`${path}: ${e.message}`));
    const res = await page.goto(origin + path);
    expect(res?.status(), path).toBe(status);
    return page;
  };

  it('shows a submitter’s record and claims, each linking to its claim page', async () => {
    const page = await open(desktop, `/submitters/${seeded.keys.alice.hex}`);
    await expect(page.locator('h1').textContent()).resolves.toContain('Submitter');
    await expect(page.locator('dl.kv').textContent()).resolves.toMatch(/\d+ verified, \d+ rejected, \d+ disputed/);
    const rows = page.locator('table.claim-list tbody tr');
    expect(await rows.count()).toBe(3);
    await page.screenshot({ path: screenshotPath('submitter'), fullPage: true });
    await rows.first().locator('td.num a').click();
    await page.waitForURL(/\/claims\/[0-9a-f]{64}$/);
    await page.close();
  });

  it('filters the list of claims with its form: the rejected ones', async () => {
    const page = await open(desktop, '/claims');
    await page.selectOption('select[name="status"]', 'rejected');
    await page.click('form.filters button[type="submit"]');
    await page.waitForURL(/status=rejected/);
    const statuses = await page.locator('table.claim-list tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-status')));
    expect(statuses).toEqual(['rejected']);
    await page.screenshot({ path: screenshotPath('claims-rejected'), fullPage: true });
    await page.close();
  });

  it('shows one leaderboard row per commit, with a link to the commit’s other claims', async () => {
    const page = await open(desktop, '/tasks/digits-mlp');
    const commits = await page.locator('table.leaderboard tbody tr[data-commit]').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-commit')));
    expect(new Set(commits).size).toBe(commits.length);
    expect(commits).toContain(commitOf('c3'));
    const more = page.locator(`tr[data-commit="${commitOf('c3')}"] a.more`);
    await expect(more.textContent()).resolves.toBe('+1 other claim');
    await page.screenshot({ path: screenshotPath('leaderboard-one-row-per-commit'), fullPage: true });
    await more.click();
    await page.waitForURL(/commit=/);
    expect(await page.locator('table.claim-list tbody tr').count()).toBe(2);
    await page.close();
  });

  it('says what a refused proof claimed and why, without "Proves"', async () => {
    const page = await open(desktop, `/claims/${seeded.rejected}`);
    const zk = page.locator('li.zk.refused');
    await expect(zk.textContent()).resolves.toContain('Refused (zk_pairing_failed)');
    await expect(zk.textContent()).resolves.not.toContain('Proves');
    await zk.screenshot({ path: screenshotPath('claim-refused-proof-card') });
    await page.screenshot({ path: screenshotPath('claim-refused-proof'), fullPage: true });
    await page.close();
  });

  it('marks an attestation whose key was revoked, and one from the service’s own worker', async () => {
    const page = await open(desktop, `/claims/${extra.attested}`);
    const revoked = page.locator(`li.attestation[data-signer="${extra.labId}"]`);
    await expect(revoked.locator('.badge.disputed').textContent()).resolves.toBe('revoked');
    await expect(revoked.locator('table tbody tr').count()).resolves.toBe(2);
    await expect(revoked.textContent()).resolves.toContain('NVIDIA H100');
    await revoked.screenshot({ path: screenshotPath('attestation-card-revoked') });
    const own = page.locator('li.attestation', { hasText: 'this service’s own worker' });
    await expect(own.count()).resolves.toBe(1);
    await page.screenshot({ path: screenshotPath('claim-attestations'), fullPage: true });
    await page.close();
  });

  it('answers paths that do not exist with the HTML 404 page', async () => {
    for (const [name, path] of [
      ['404-nope', '/nope'],
      ['404-tasks-slash', '/tasks/'],
      ['404-trailing-slash', '/tasks/digits-mlp/'],
      ['404-favicon-ico', '/favicon.ico'],
    ] as const) {
      const page = await open(desktop, path, 404);
      await expect(page.locator('h1').textContent()).resolves.toBe('Not found');
      await expect(page.locator('a[href="/"]').first().isVisible()).resolves.toBe(true);
      await page.screenshot({ path: screenshotPath(name), fullPage: true });
      await page.close();
    }
  });

  it('fits the evidence cards on a 390 px phone: nothing wider than the screen', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    for (const [name, path] of [
      ['claim-zk-phone', `/claims/${seeded.zkAudited}`],
      ['claim-refused-phone', `/claims/${seeded.rejected}`],
      ['claim-attestations-phone', `/claims/${extra.attested}`],
      ['submitter-phone', `/submitters/${seeded.keys.alice.hex}`],
      ['claims-phone', '/claims'],
    ] as const) {
      const page = await open(phone, path);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, path).toBeLessThanOrEqual(0);
      const rights = await page.locator('.evidence > li, .evidence .hash').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().right));
      for (const right of rights) expect(right, path).toBeLessThanOrEqual(390);
      await page.screenshot({ path: screenshotPath(name), fullPage: true });
      await page.close();
    }
    await phone.close();
  });

  it('ran every page without console errors or CSP violations', () => {
    expect(problems).toEqual([]);
  });
});
