// Runs one untrusted command under bubblewrap with an unprivileged uid, a seccomp filter, rlimits and
// per-job cgroups, and leaves nothing of it running afterwards. See docs/sandbox.md for what it stops.
//
// There is no unsandboxed fallback: when a piece is missing, runInSandbox throws SandboxUnavailableError.
import { execFileSync, spawn } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import { accessSync, constants, existsSync, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { chown, lstat, stat } from 'node:fs/promises';
import { arch } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { buildSandboxArgs, CGROUP_JOINED, SANDBOX_INPUT_DIR, SANDBOX_WORK_DIR, type SandboxMount } from './sandbox-args.ts';
import { createJobCgroup, findMissingCgroupControllers } from './sandbox-cgroup.ts';
import { SandboxUnavailableError } from './sandbox-unavailable.ts';
import { findMissingWorkFolderSupport, workFolderFree } from './work-folder.ts';
import { captureCapped } from './sandbox-output.ts';
import { buildSeccompFilter, toSeccompArch } from './seccomp-filter.ts';

export { SANDBOX_INPUT_DIR, SANDBOX_WORK_DIR };

export interface SandboxLimits {
  /** Wall-clock time of the whole job; past it every process of the job is killed. */
  wallTimeMs: number;
  /** CPU seconds: per process (RLIMIT_CPU) and, with cpuacct, for the whole job. */
  cpuSeconds: number;
  /** RAM (and RAM + swap) of the whole job, tmpfs files included. */
  memoryBytes: number;
  /** Processes and threads of the job (cgroup pids.max and RLIMIT_NPROC). */
  maxProcesses: number;
  maxOpenFiles: number;
  /** Largest file the job may write (RLIMIT_FSIZE). */
  maxFileBytes: number;
  /** Bytes of stdout and of stderr kept; the rest is read and dropped. */
  outputCapBytes: number;
  /** Total stdout + stderr after which the job is killed. */
  outputKillBytes: number;
  /**
   * Bytes and files (inodes) the job may store in its work folder. Enforced by the folder itself, made with
   * createWorkFolder (work-folder.ts) from these values; runInSandbox reports `disk` when the job fails with it full.
   */
  diskBytes: number;
  maxInodes: number;
  /** Size of the job's private /tmp and of its /dev/shm. */
  tmpBytes: number;
  shmBytes: number;
  /**
   * The job's CPU share, in cgroup v1 cpu.shares (a plain process weighs 1024; v2 cpu.weight = shares * 100 / 1024):
   * between concurrent jobs, and against the host's processes where the jobs are not an idle group (cpuIdle).
   * A job gets every idle core either way; next to a busy API it gets about shares/1024 of a core's time.
   */
  cpuShares: number;
  /**
   * Also make the jobs an idle group (cgroup cpu.idle, Linux 5.15; ignored where absent): the lowest weight of all,
   * and a waking host process preempts a job at once instead of waiting for the end of the job's time slice.
   */
  cpuIdle: boolean;
}

export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = {
  wallTimeMs: 10 * 60_000,
  cpuSeconds: 20 * 60,
  memoryBytes: 4 * 1024 ** 3,
  maxProcesses: 256,
  maxOpenFiles: 1024,
  maxFileBytes: 1024 ** 3,
  outputCapBytes: 1024 ** 2,
  outputKillBytes: 64 * 1024 ** 2,
  diskBytes: 2 * 1024 ** 3,
  maxInodes: 100_000,
  tmpBytes: 1024 ** 3,
  shmBytes: 1024 ** 3,
  cpuShares: 64,
  cpuIdle: true,
};

export interface SandboxSpec {
  /** argv inside the sandbox; argv[0] is an absolute path there (e.g. /usr/bin/python3). */
  command: string[];
  /** Host folder mounted read-write at /work (the working directory); handed to the job's uid. */
  workDir: string;
  /** Host folder mounted read-only at /input. */
  inputDir?: string;
  /** Host folders mounted read-only at /data, /harness, /eval or /output (SANDBOX_MOUNT_TARGETS). */
  mounts?: SandboxMount[];
  /** Working directory inside: /work by default, or one of the mounts' targets. */
  cwd?: string;
  /**
   * Host folders mounted read-only at the same path, for toolchains outside /usr (a Python environment
   * under /opt, say). Never a folder holding secrets: the job reads everything in it.
   */
  readOnlyPaths?: string[];
  env?: Record<string, string>;
  limits?: Partial<SandboxLimits>;
  /** Pass the host's NVIDIA device nodes and a read-only /sys. */
  gpus?: boolean;
  /** The unprivileged uid/gid to run as; a fresh random one when absent. */
  uid?: number;
}

/** `disk`: the job failed with its work folder full (bytes or inodes); it got ENOSPC, nothing killed it. */
export type KillReason = 'none' | 'wall_time' | 'cpu_time' | 'memory' | 'output' | 'file_size' | 'disk';

export interface SandboxResult {
  /** bwrap's exit status: the command's, or 128 + signal when the command died of a signal. */
  exitCode: number | null;
  /** Set when the job was killed from outside (the bwrap process itself got the signal). */
  signal: NodeJS.Signals | null;
  killReason: KillReason;
  stdout: Buffer;
  stderr: Buffer;
  stdoutBytes: number;
  stderrBytes: number;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  wallMs: number;
  cpuMs: number | undefined;
  peakMemoryBytes: number | undefined;
  uid: number;
  /** Name of the job's cgroups under /sys/fs/cgroup/<controller>/proofboard/ (removed when this returns). */
  jobId: string;
}

export { SandboxUnavailableError };

export type SandboxAvailability =
  | { available: true; bwrap: string; arch: string }
  | { available: false; missing: string[] };

export interface SandboxTools {
  bash: string;
  setpriv: string;
  prlimit: string;
  bwrap: string;
}

export const DEFAULT_SANDBOX_TOOLS: SandboxTools = {
  bash: '/bin/bash',
  setpriv: '/usr/bin/setpriv',
  prlimit: '/usr/bin/prlimit',
  bwrap: '/usr/bin/bwrap',
};
const UID_RANGE = { min: 2_000_000, max: 2_999_999 };
const SIGXCPU_EXIT = 128 + 24;
const SIGXFSZ_EXIT = 128 + 25;
const CPU_POLL_MS = 250;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Cheap checks only (binaries, privileges, cgroups, architecture); `smoke` also runs /usr/bin/true inside. */
export async function checkSandboxAvailable(
  options: { smoke?: boolean; tools?: Partial<SandboxTools> } = {},
): Promise<SandboxAvailability> {
  const tools = { ...DEFAULT_SANDBOX_TOOLS, ...options.tools };
  const missing: string[] = [];
  for (const [name, path] of Object.entries(tools)) {
    try {
      accessSync(path, constants.X_OK);
    } catch {
      missing.push(name === 'bwrap' ? `bubblewrap (${path}; Debian package "bubblewrap")` : `${name} (${path})`);
    }
  }
  if (process.getuid?.() !== 0) missing.push('root privileges (to switch to the job uid and manage cgroups)');
  const seccompArch = toSeccompArch(arch());
  if (seccompArch === undefined) missing.push(`a seccomp filter for architecture ${arch()}`);
  if (process.getuid?.() === 0) {
    missing.push(...(await findMissingCgroupControllers()));
    // Without a capped work folder a job could fill the host's disk: no replay then (work-folder.ts).
    missing.push(...(await findMissingWorkFolderSupport()));
  }
  if (missing.length > 0) return { available: false, missing };
  if (options.smoke) {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const work = await mkdtemp(resolve(tmpdir(), 'proofboard-smoke-'));
    try {
      const result = await runPrepared({ command: ['/usr/bin/true'], workDir: work }, tools);
      if (result.exitCode !== 0) {
        return { available: false, missing: [`a working bubblewrap (smoke test: ${result.stderr.toString().trim()})`] };
      }
    } catch (error) {
      return { available: false, missing: [`a working bubblewrap (smoke test: ${(error as Error).message})`] };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  return { available: true, bwrap: tools.bwrap, arch: seccompArch! };
}

export function allocateSandboxUid(): number {
  return randomInt(UID_RANGE.min, UID_RANGE.max + 1);
}

export async function runInSandbox(spec: SandboxSpec, options: { tools?: Partial<SandboxTools> } = {}): Promise<SandboxResult> {
  const tools = { ...DEFAULT_SANDBOX_TOOLS, ...options.tools };
  const availability = await checkSandboxAvailable({ tools });
  if (!availability.available) throw new SandboxUnavailableError(availability.missing);
  return runPrepared(spec, tools);
}

async function runPrepared(spec: SandboxSpec, tools: SandboxTools): Promise<SandboxResult> {
  const limits = { ...DEFAULT_SANDBOX_LIMITS, ...spec.limits };
  const command = spec.command;
  if (command.length === 0 || !isAbsolute(command[0]!)) throw new Error('sandbox: command[0] must be an absolute path');
  for (const name of Object.keys(spec.env ?? {})) {
    if (!ENV_NAME.test(name)) throw new Error(`sandbox: invalid environment variable name ${JSON.stringify(name)}`);
  }
  const workDir = resolve(spec.workDir);
  const inputDir = spec.inputDir === undefined ? undefined : resolve(spec.inputDir);
  const uid = spec.uid ?? allocateSandboxUid();
  await assertReachable(workDir, uid);
  if (inputDir !== undefined) await assertReachable(inputDir, uid);
  const mounts = (spec.mounts ?? []).map((m) => ({ source: resolve(m.source), target: m.target }));
  for (const mount of mounts) await assertReachable(mount.source, uid);
  const readOnlyPaths = (spec.readOnlyPaths ?? []).map((path) => resolve(path));
  for (const path of readOnlyPaths) {
    // Would cover the sandbox's own /proc, /dev, /input, /work or a replay stage's mounts, or hide its /tmp.
    if (/^\/(?:(?:proc|sys|dev|input|work|data|harness|eval|output)(?:\/|$)|(?:tmp)?$)/.test(path)) {
      throw new Error(`sandbox: cannot mount ${path} read-only`);
    }
    await assertReachable(path, uid);
  }
  await chown(workDir, uid, uid);

  const seccompArch = toSeccompArch(arch())!;
  const jobId = `job-${randomUUID()}`;
  const cgroup = await createJobCgroup(jobId, {
    memoryBytes: limits.memoryBytes,
    maxProcesses: limits.maxProcesses,
    cpuShares: limits.cpuShares,
    cpuIdle: limits.cpuIdle,
  });
  try {
    const env = { PATH: '/usr/bin:/bin', HOME: SANDBOX_WORK_DIR, TMPDIR: '/tmp', LANG: 'C.UTF-8', ...spec.env };
    const { file, args } = buildSandboxArgs({
      uid,
      command,
      workDir,
      ...(inputDir !== undefined ? { inputDir } : {}),
      mounts,
      ...(spec.cwd !== undefined ? { cwd: spec.cwd } : {}),
      readOnlyPaths,
      env,
      cpuSeconds: Math.max(1, Math.ceil(limits.cpuSeconds)),
      maxProcesses: limits.maxProcesses,
      maxOpenFiles: limits.maxOpenFiles,
      maxFileBytes: limits.maxFileBytes,
      tmpBytes: limits.tmpBytes,
      shmBytes: limits.shmBytes,
      cgroupProcsFiles: cgroup.procsFiles,
      rootLinks: listRootLinks(),
      gpuDevices: spec.gpus ? listNvidiaDevices() : [],
      gpus: spec.gpus ?? false,
      disableUserns: bwrapSupportsDisableUserns(tools.bwrap),
      tools,
    });
    const started = performance.now();
    const child = spawn(file, args, {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
      env: { PATH: '/usr/bin:/bin' },
    });
    let killReason: KillReason = 'none';
    let lastResort: NodeJS.Timeout | undefined;
    const killFor = (reason: KillReason): void => {
      if (killReason === 'none') killReason = reason;
      lastResort ??= setTimeout(() => void cgroup.killAll().catch(() => undefined), 5_000);
      // The outer bwrap is spared so that it reaps the namespace's init: killed together, the init would
      // be re-parented to the host's PID 1, which in a container may never reap it (a zombie per job).
      // If the outer bwrap has not exited 5 s later, it is killed too.
      void cgroup.killAll(child.pid).catch(() => undefined);
    };
    const outputs = { stdout: 0, stderr: 0 };
    const onOutput = (name: 'stdout' | 'stderr') => (total: number) => {
      outputs[name] = total;
      if (outputs.stdout + outputs.stderr > limits.outputKillBytes) killFor('output');
    };
    const stdout = captureCapped(child.stdout!, limits.outputCapBytes, onOutput('stdout'));
    const stderr = captureCapped(child.stderr!, limits.outputCapBytes, onOutput('stderr'));
    const status = captureCapped(child.stdio[3] as Readable, 64 * 1024, () => undefined);
    const seccompPipe = child.stdio[4] as Writable;
    seccompPipe.on('error', () => undefined);
    seccompPipe.end(buildSeccompFilter(seccompArch));

    const wallTimer = setTimeout(() => killFor('wall_time'), limits.wallTimeMs);
    const cpuTimer = setInterval(() => {
      void cgroup.cpuNanoseconds().then((ns) => {
        if (ns !== undefined && ns > limits.cpuSeconds * 1e9) killFor('cpu_time');
      });
    }, CPU_POLL_MS);
    const closed = Promise.all(
      [child.stdout!, child.stderr!, child.stdio[3]!].map((stream) => new Promise((done) => stream.once('close', done))),
    );
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done, fail) => {
      child.once('error', fail);
      child.once('exit', (code, signal) => done({ code, signal }));
    }).finally(() => {
      clearTimeout(wallTimer);
      clearTimeout(lastResort);
      clearInterval(cpuTimer);
    });
    // Nothing of the job may outlive it: bwrap's pid namespace dies with it, and the cgroup sweep
    // catches anything that got out of the namespace's reach.
    await cgroup.killAll();
    await closed;
    const wallMs = performance.now() - started;

    const statusText = status.bytes().toString('utf8');
    if (!statusText.startsWith(CGROUP_JOINED)) {
      throw new Error(`sandbox: job did not join its cgroups (exit ${exit.code}): ${stderr.bytes().toString().trim()}`);
    }
    if (!statusText.includes('"child-pid"')) {
      throw new Error(`sandbox: bubblewrap failed to start the job (exit ${exit.code}): ${stderr.bytes().toString().trim()}`);
    }
    const cpuNs = await cgroup.cpuNanoseconds();
    if (killReason === 'none' && (await cgroup.oomKilled())) killReason = 'memory';
    if (killReason === 'none' && exit.code === SIGXCPU_EXIT) killReason = 'cpu_time';
    if (killReason === 'none' && cpuNs !== undefined && cpuNs > limits.cpuSeconds * 1e9) killReason = 'cpu_time';
    if (killReason === 'none' && exit.code === SIGXFSZ_EXIT) killReason = 'file_size';
    if (killReason === 'none' && exit.code !== 0 && (await isFull(workDir))) killReason = 'disk';
    return {
      exitCode: exit.code,
      signal: exit.signal,
      killReason,
      stdout: stdout.bytes(),
      stderr: stderr.bytes(),
      stdoutBytes: stdout.totalBytes(),
      stderrBytes: stderr.totalBytes(),
      stdoutTruncated: stdout.truncated(),
      stderrTruncated: stderr.truncated(),
      wallMs,
      cpuMs: cpuNs === undefined ? undefined : cpuNs / 1e6,
      peakMemoryBytes: await cgroup.peakMemoryBytes(),
      uid,
      jobId,
    };
  } finally {
    await cgroup.remove();
  }
}

/**
 * True when the work folder's file system has no byte or no inode left: the job's last write or create got
 * ENOSPC. (A job that frees space before failing is not recognised; its exit status still says it failed.)
 */
async function isFull(workDir: string): Promise<boolean> {
  const free = await workFolderFree(workDir).catch(() => undefined);
  return free !== undefined && (free.bytes === 0 || free.inodes === 0);
}

/** bwrap mounts host paths as the job's uid, so each folder above them must be searchable by others. */
async function assertReachable(path: string, uid: number): Promise<void> {
  // lstat: a link would be followed by the chown of the work folder and by bwrap's mount.
  const info = await lstat(path).catch(() => undefined);
  if (!info?.isDirectory()) throw new Error(`sandbox: ${path} is not a folder (or is a link)`);
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const mode = (await stat(dir)).mode;
    if ((mode & 0o001) === 0) {
      throw new Error(`sandbox: ${path} is unreachable for uid ${uid}: ${dir} has mode ${(mode & 0o777).toString(8)}`);
    }
    if (dir === '/') break;
  }
}

const bwrapVersions = new Map<string, boolean>();

function bwrapSupportsDisableUserns(bwrap: string): boolean {
  let supported = bwrapVersions.get(bwrap);
  if (supported === undefined) {
    const text = execFileSync(bwrap, ['--version'], { encoding: 'utf8' });
    const [major = 0, minor = 0] = (/(\d+)\.(\d+)/.exec(text) ?? []).slice(1).map(Number);
    supported = major > 0 || minor >= 8;
    bwrapVersions.set(bwrap, supported);
  }
  return supported;
}

function listRootLinks(): Array<{ path: string; target?: string }> {
  const links: Array<{ path: string; target?: string }> = [];
  for (const path of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    const info = lstatSync(path, { throwIfNoEntry: false });
    if (info === undefined) continue;
    if (info.isSymbolicLink()) {
      const target = readlinkSync(path);
      // Only links into /usr are recreated; anything else is left out rather than exposing more host.
      if (/^\/?usr\//.test(target)) links.push({ path, target });
    } else if (info.isDirectory()) {
      links.push({ path });
    }
  }
  return links;
}

function listNvidiaDevices(): string[] {
  if (!existsSync('/dev')) return [];
  const devices = readdirSync('/dev')
    .filter((name) => name.startsWith('nvidia'))
    .map((name) => `/dev/${name}`);
  return devices.sort();
}
