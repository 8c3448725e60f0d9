// What a job's cgroup offers the sandbox, on either hierarchy: the v1 groups (sandbox-cgroup.ts) and the v2 groups
// (sandbox-cgroup-v2.ts) both implement it, and both empty a group the same way.

export interface JobCgroupLimits {
  memoryBytes: number;
  maxProcesses: number;
  /** cpu.shares of the jobs against the host's processes (1024 = a plain process's; v2: cpu.weight = shares * 100 / 1024). */
  cpuShares: number;
  /** Run the jobs as an idle group (cpu.idle, Linux 5.15) where the kernel offers it; see SandboxLimits.cpuIdle. */
  cpuIdle: boolean;
}

export interface JobCgroup {
  /** `cgroup.procs` files the job's first process writes its pid into before it runs anything else. */
  readonly procsFiles: string[];
  /** Kill every process in the group (but `spare`) until it is empty. */
  killAll(spare?: number): Promise<void>;
  /** True when the kernel's OOM killer acted inside the group. */
  oomKilled(): Promise<boolean>;
  peakMemoryBytes(): Promise<number | undefined>;
  /** CPU time of the whole job, when the cpuacct controller is available. */
  cpuNanoseconds(): Promise<number | undefined>;
  pids(): Promise<number[]>;
  remove(): Promise<void>;
}

/**
 * SIGKILLs every process `pids()` lists (but `spare`) until the group stays empty. A fork bomb keeps making
 * processes while we kill; pids.max bounds how many there can be, so this converges, and a group that does not
 * empty after 200 rounds is a fault.
 */
export async function killUntilEmpty(pids: () => Promise<number[]>, jobId: string, spare?: number): Promise<void> {
  for (let round = 0; round < 200; round += 1) {
    const alive = (await pids()).filter((pid) => pid !== spare);
    if (alive.length === 0) return;
    for (const pid of alive) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, round < 10 ? 5 : 50));
  }
  throw new Error(`sandbox: processes of job ${jobId} survived SIGKILL: ${(await pids()).join(', ')}`);
}
