// Helpers to run hostile Python programs in the sandbox and inspect what they left behind on the host.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInSandbox, type SandboxLimits, type SandboxResult, type SandboxSpec } from '../../src/replay/sandbox.ts';

export const TEST_LIMITS: Partial<SandboxLimits> = {
  wallTimeMs: 30_000,
  cpuSeconds: 20,
  memoryBytes: 128 * 1024 ** 2,
  maxProcesses: 64,
  outputCapBytes: 64 * 1024,
};

export async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `proofboard-${prefix}-`));
}

export async function runPython(
  source: string,
  options: Partial<SandboxSpec> & { limits?: Partial<SandboxLimits> } = {},
): Promise<SandboxResult & { out: string; err: string; workDir: string }> {
  const workDir = options.workDir ?? (await makeTempDir('sandbox-run'));
  const result = await runInSandbox({
    ...options,
    command: ['/usr/bin/python3', '-c', source],
    workDir,
    limits: { ...TEST_LIMITS, ...options.limits },
  });
  return { ...result, out: result.stdout.toString('utf8'), err: result.stderr.toString('utf8'), workDir };
}

/** Host processes whose real uid is `uid` (read from /proc, so it sees every pid namespace). */
export async function processesOfUid(uid: number): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const status = await readFile(`/proc/${name}/status`, 'utf8').catch(() => '');
    const match = /^Uid:\s+(\d+)/m.exec(status);
    if (match && Number(match[1]) === uid) found.push(Number(name));
  }
  return found;
}

/** The job's cgroups that still exist (there should be none once runInSandbox has returned). */
export function leftoverCgroups(jobId: string): string[] {
  return ['memory', 'pids', 'cpuacct']
    .map((controller) => `/sys/fs/cgroup/${controller}/proofboard/${jobId}`)
    .filter((path) => existsSync(path));
}

export async function removeDir(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}
