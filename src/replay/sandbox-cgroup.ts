// Per-job cgroup v1 groups (on v2-only hosts, sandbox-cgroup-v2.ts): the only limits that hold for a whole
// process tree (rlimits are per process, and a job can fork). memory bounds RAM and tmpfs, pids bounds fork
// bombs, cpu gives the jobs a low share of the processors, cpuacct (when present) measures the CPU time of the
// whole job. The same groups are how every process of a job is found and killed.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { killUntilEmpty, type JobCgroup, type JobCgroupLimits } from './job-cgroup.ts';
import { createJobCgroupV2, findMissingCgroupV2, isCgroupV2 } from './sandbox-cgroup-v2.ts';

export const CGROUP_V1_ROOT = '/sys/fs/cgroup';
const PARENT = 'proofboard';
const REQUIRED = ['memory', 'pids', 'cpu'] as const;
// The hierarchies whose presence says "this is a v1 host" (cpu is required, but its absence is reported as missing).
const V1_MARKERS = ['memory', 'pids'] as const;
const OPTIONAL = ['cpuacct'] as const;
type Controller = (typeof REQUIRED)[number] | (typeof OPTIONAL)[number];

const hasV1 = (root: string): boolean => V1_MARKERS.every((name) => existsSync(join(root, name, 'cgroup.procs')));

/** The controllers that are missing or not writable; empty when jobs can be limited. */
export async function findMissingCgroupControllers(root = CGROUP_V1_ROOT): Promise<string[]> {
  if (!hasV1(root) && isCgroupV2(root)) return findMissingCgroupV2(root);
  const missing: string[] = [];
  for (const controller of REQUIRED) {
    const dir = join(root, controller);
    if (!existsSync(join(dir, 'cgroup.procs'))) {
      missing.push(`cgroup v1 ${controller} controller (no ${dir}/cgroup.procs)`);
      continue;
    }
    try {
      await mkdir(join(dir, PARENT), { recursive: true });
    } catch (error) {
      missing.push(`write access to ${dir} (${(error as Error).message})`);
    }
  }
  return missing;
}

export async function createJobCgroup(jobId: string, limits: JobCgroupLimits, root = CGROUP_V1_ROOT): Promise<JobCgroup> {
  if (!hasV1(root) && isCgroupV2(root)) return createJobCgroupV2(jobId, limits, root);
  const dirs = new Map<Controller, string>();
  const make = async (controller: Controller): Promise<void> => {
    const dir = join(root, controller, PARENT, jobId);
    await mkdir(dir, { recursive: true });
    dirs.set(controller, dir);
  };
  const memory = join(root, 'memory', PARENT, jobId);
  const pidsDir = join(root, 'pids', PARENT, jobId);
  try {
    for (const controller of REQUIRED) await make(controller);
    for (const controller of OPTIONAL) {
      if (existsSync(join(root, controller, 'cgroup.procs'))) await make(controller).catch(() => undefined);
    }
    await writeFile(join(memory, 'memory.limit_in_bytes'), String(limits.memoryBytes));
    // Without memsw the job could push its pages to swap and use far more than its limit.
    if (existsSync(join(memory, 'memory.memsw.limit_in_bytes'))) {
      await writeFile(join(memory, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
    }
    await writeFile(join(pidsDir, 'pids.max'), String(limits.maxProcesses));
    // Threat: a job spinning on every core starves the API beside it. Group scheduling is hierarchical, so what
    // counts against the host's processes is proofboard's own setting; each job's share only divides it between
    // concurrent jobs. The parent keeps the setting of the latest job.
    const cpuParent = join(root, 'cpu', PARENT);
    const shares = String(Math.max(2, Math.round(limits.cpuShares)));
    const idle = limits.cpuIdle && existsSync(join(cpuParent, 'cpu.idle'));
    if (existsSync(join(cpuParent, 'cpu.idle'))) await writeFile(join(cpuParent, 'cpu.idle'), idle ? '1' : '0');
    // An idle group has the lowest weight of all (3) and refuses cpu.shares.
    if (!idle) await writeFile(join(cpuParent, 'cpu.shares'), shares);
    await writeFile(join(cpuParent, jobId, 'cpu.shares'), shares);
  } catch (error) {
    // A group without its limits must not be used, nor left behind.
    for (const dir of dirs.values()) await rmdir(dir).catch(() => undefined);
    throw error;
  }

  const readNumber = async (file: string): Promise<number | undefined> => {
    try {
      const value = Number((await readFile(file, 'utf8')).trim());
      return Number.isFinite(value) ? value : undefined;
    } catch {
      return undefined;
    }
  };
  const pids = async (): Promise<number[]> => {
    const found = new Set<number>();
    for (const dir of dirs.values()) {
      const text = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
      for (const line of text.split('\n')) if (line.trim()) found.add(Number(line));
    }
    return [...found];
  };
  const killAll = (spare?: number): Promise<void> => killUntilEmpty(pids, jobId, spare);
  return {
    procsFiles: [...dirs.values()].map((dir) => join(dir, 'cgroup.procs')),
    killAll,
    pids,
    async oomKilled() {
      const control = await readFile(join(memory, 'memory.oom_control'), 'utf8').catch(() => '');
      const match = /^oom_kill (\d+)$/m.exec(control);
      if (match) return Number(match[1]) > 0;
      return ((await readNumber(join(memory, 'memory.failcnt'))) ?? 0) > 0;
    },
    peakMemoryBytes: () => readNumber(join(memory, 'memory.max_usage_in_bytes')),
    async cpuNanoseconds() {
      const dir = dirs.get('cpuacct');
      return dir ? readNumber(join(dir, 'cpuacct.usage')) : undefined;
    },
    async remove() {
      await killAll();
      for (const dir of dirs.values()) {
        for (let attempt = 0; ; attempt += 1) {
          try {
            await rmdir(dir);
            break;
          } catch (error) {
            const code = (error as NodeJS.ErrnoException).code;
            if (code === 'ENOENT') break;
            // EBUSY while the kernel finishes reaping the last exiting processes.
            if (code !== 'EBUSY' || attempt >= 100) throw error;
            await killAll();
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        }
      }
    },
  };
}

/**
 * Removes the empty job groups that a killed worker left behind (it never reached its own clean-up). Only groups
 * older than `olderThanMs`: a live job's group is empty only for the moment between its creation and the job
 * joining it, and rmdir refuses a group that holds a process, so a running job is never touched.
 */
export async function removeStaleJobCgroups(root = CGROUP_V1_ROOT, olderThanMs = 60 * 60_000, now = Date.now()): Promise<number> {
  const parents = [...REQUIRED, ...OPTIONAL].map((controller) => join(root, controller, PARENT));
  parents.push(join(root, PARENT));
  let removed = 0;
  for (const parent of parents) {
    const names = await readdir(parent).catch(() => [] as string[]);
    for (const name of names) {
      if (!name.startsWith('job-')) continue;
      const dir = join(parent, name);
      const info = await stat(dir).catch(() => undefined);
      if (!info?.isDirectory() || now - info.mtimeMs < olderThanMs) continue;
      if (await rmdir(dir).then(() => true, () => false)) removed += 1;
    }
  }
  return removed;
}
