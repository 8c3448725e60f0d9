// The installed postgres.js carries the patch of scripts/patch-postgres-driver.mjs (applied by npm's postinstall):
// without it a PostgreSQL restart under load can end the process (porsager/postgres#1208). Runs without a database;
// test/e2e/database-restart.test.ts checks the behaviour on a real cluster.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { ROOT } from '../helpers/processes.ts';

it('the installed postgres.js is patched (npm ci runs scripts/patch-postgres-driver.mjs)', async () => {
  const run = await promisify(execFile)(process.execPath, [join(ROOT, 'scripts', 'patch-postgres-driver.mjs'), '--check']).catch(
    (e: { code?: number; stderr?: string }) => e,
  );
  expect(run.stderr ?? '').toBe('');
  expect((run as { code?: number }).code ?? 0).toBe(0);
});
