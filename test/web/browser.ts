// Headless Chromium for the page tests: Debian's chromium driven by playwright-core. Without a browser the suite is
// skipped loudly; with PROOFBOARD_REQUIRE_BROWSER=1 (CI) a missing browser is a failure instead.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { ROOT } from '../helpers/processes.ts';

export const CHROMIUM = process.env.PROOFBOARD_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(ROOT, 'test-results', 'web');

export function browserAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.PROOFBOARD_REQUIRE_BROWSER === '1') {
    throw new Error(`PROOFBOARD_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing: apt-get install -y chromium fonts-dejavu-core`);
  }
  console.warn(
    `\n*** SKIPPED: the browser tests of the web page (${CHROMIUM} not found). ` +
      'Install it with `apt-get install -y chromium fonts-dejavu-core`, or set PROOFBOARD_CHROMIUM. ***\n',
  );
  return false;
}

export async function launchBrowser(): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export const screenshotPath = (name: string) => join(SCREENSHOTS, `${name}.png`);
