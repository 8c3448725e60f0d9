// Per-job groups on a cgroup v2 (unified) host, used when the v1 memory and pids hierarchies are absent.
// Same contract as the v1 groups in sandbox-cgroup.ts. Layout: /sys/fs/cgroup/proofboard/<job>, with
// memory, pids and cpu delegated to proofboard's children (proofboard itself holds no process, as v2 requires).
import { existsSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { killUntilEmpty, type JobCgroup, type JobCgroupLimits } from './job-cgroup.ts';

const PARENT = 'proofboard';
const NEEDED = ['memory', 'pids', 'cpu'];

export function isCgroupV2(root: string): boolean {
  return existsSync(join(root, 'cgroup.controllers'));
}

export async function findMissingCgroupV2(root: string): Promise<string[]> {
  const available = (await readFile(join(root, 'cgroup.controllers'), 'utf8').catch(() => '')).split(/\s+/);
  const missing = NEEDED.filter((name) => !available.includes(name)).map((name) => `cgroup v2 ${name} controller in ${root}`);
  if (missing.length > 0) return missing;
  try {
    await enableControllers(root);
  } catch (error) {
    return [`write access to ${root} to delegate memory, pids and cpu (${(error as Error).message})`];
  }
  return [];
}

async function enableControllers(root: string): Promise<void> {
  const parent = join(root, PARENT);
  for (const dir of [root, parent]) {
    if (dir === parent) await mkdir(parent, { recursive: true });
    const enabled = (await readFile(join(dir, 'cgroup.subtree_control'), 'utf8')).split(/\s+/);
    const wanted = NEEDED.filter((name) => !enabled.includes(name));
    if (wanted.length === 0) continue;
    const control = wanted.map((name) => `+${name}`).join(' ');
    try {
      await writeFile(join(dir, 'cgroup.subtree_control'), control);
    } catch (error) {
      // A container's own cgroup root holds its processes, and v2 delegates controllers only from a group
      // without processes ("no internal processes"). As container init systems do, move them into a leaf first.
      if ((error as NodeJS.ErrnoException).code !== 'EBUSY' || dir !== root) throw error;
      await moveProcessesToLeaf(root);
      await writeFile(join(dir, 'cgroup.subtree_control'), control);
    }
  }
}

async function moveProcessesToLeaf(root: string): Promise<void> {
  const leaf = join(root, `${PARENT}-host`);
  await mkdir(leaf, { recursive: true });
  const pids = (await readFile(join(root, 'cgroup.procs'), 'utf8')).split('\n').filter((line) => line.trim());
  for (const pid of pids) {
    // Kernel threads and processes that exited meanwhile cannot be moved; they do not block delegation.
    await writeFile(join(leaf, 'cgroup.procs'), pid).catch(() => undefined);
  }
}

export async function createJobCgroupV2(jobId: string, limits: JobCgroupLimits, root: string): Promise<JobCgroup> {
  await enableControllers(root);
  const dir = join(root, PARENT, jobId);
  await mkdir(dir);
  try {
    await writeFile(join(dir, 'memory.max'), String(limits.memoryBytes));
    // Without a swap limit the job could push its pages to swap and use far more than its limit.
    if (existsSync(join(dir, 'memory.swap.max'))) await writeFile(join(dir, 'memory.swap.max'), '0');
    await writeFile(join(dir, 'pids.max'), String(limits.maxProcesses));
    // The jobs' low CPU priority against the host's processes (see sandbox-cgroup.ts): v1 shares 1024 = weight 100.
    const weight = String(Math.min(10_000, Math.max(1, Math.round((limits.cpuShares * 100) / 1024))));
    const idleFile = join(root, PARENT, 'cpu.idle');
    if (existsSync(idleFile)) await writeFile(idleFile, limits.cpuIdle ? '1' : '0');
    if (!limits.cpuIdle || !existsSync(idleFile)) await writeFile(join(root, PARENT, 'cpu.weight'), weight);
    await writeFile(join(dir, 'cpu.weight'), weight);
  } catch (error) {
    await rmdir(dir).catch(() => undefined);
    throw error;
  }

  const readKeyed = async (file: string, key: string): Promise<number | undefined> => {
    const text = await readFile(join(dir, file), 'utf8').catch(() => '');
    const match = new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
    return match ? Number(match[1]) : undefined;
  };
  const pids = async (): Promise<number[]> => {
    const text = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
    return text.split('\n').filter((line) => line.trim()).map(Number);
  };
  const killAll = async (spare?: number): Promise<void> => {
    // cgroup.kill (Linux 5.14) kills the whole group atomically, but cannot spare the outer bwrap.
    if (spare === undefined && existsSync(join(dir, 'cgroup.kill'))) {
      await writeFile(join(dir, 'cgroup.kill'), '1').catch(() => undefined);
    }
    await killUntilEmpty(pids, jobId, spare);
  };
  return {
    procsFiles: [join(dir, 'cgroup.procs')],
    killAll,
    pids,
    async oomKilled() {
      return ((await readKeyed('memory.events', 'oom_kill')) ?? 0) > 0;
    },
    async peakMemoryBytes() {
      const peak = Number((await readFile(join(dir, 'memory.peak'), 'utf8').catch(() => '')).trim());
      return Number.isFinite(peak) && peak > 0 ? peak : undefined;
    },
    async cpuNanoseconds() {
      const usec = await readKeyed('cpu.stat', 'usage_usec');
      return usec === undefined ? undefined : usec * 1000;
    },
    async remove() {
      await killAll();
      for (let attempt = 0; ; attempt += 1) {
        try {
          await rmdir(dir);
          return;
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') return;
          if (code !== 'EBUSY' || attempt >= 100) throw error;
          await killAll();
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    },
  };
}
