// A worker killed mid-job never removes its job's cgroups; the next worker sweeps the empty ones, but never a
// recent one (a job that is about to join it) nor one that still holds processes (rmdir refuses those).
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { removeStaleJobCgroups } from '../../src/replay/sandbox-cgroup.ts';

const root = mkdtempSync(join(tmpdir(), 'proofboard-cgroups-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const HOUR = 60 * 60_000;
const now = Date.parse('2026-11-27T10:00:00.000Z');

function group(path: string, ageMs: number, busy = false) {
  const dir = join(root, path);
  mkdirSync(dir, { recursive: true });
  // Stands for a group holding a process: a plain folder with a file in it cannot be removed by rmdir either.
  if (busy) writeFileSync(join(dir, 'cgroup.procs'), '1234\n');
  const when = new Date(now - ageMs);
  utimesSync(dir, when, when);
  return dir;
}

it('removes old empty job groups in every controller and the v2 parent, and nothing else', async () => {
  const stale = [group('memory/proofboard/job-a', 2 * HOUR), group('pids/proofboard/job-a', 2 * HOUR), group('proofboard/job-b', 3 * HOUR)];
  const fresh = group('memory/proofboard/job-c', 60_000);
  const busy = group('pids/proofboard/job-d', 2 * HOUR, true);
  const other = group('memory/proofboard/not-a-job', 2 * HOUR);
  expect(await removeStaleJobCgroups(root, HOUR, now)).toBe(3);
  for (const dir of stale) expect(existsSync(dir)).toBe(false);
  for (const dir of [fresh, busy, other]) expect(existsSync(dir)).toBe(true);
});

it('is quiet on a machine without the hierarchy', async () => {
  expect(await removeStaleJobCgroups(join(root, 'absent'), HOUR, now)).toBe(0);
});
