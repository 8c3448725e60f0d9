// The command line of one sandboxed job, as a pure function of its settings (tested without running it).
//
//   /bin/bash (root: joins the job's cgroups, reports on fd 3)
//     -> setpriv (drops to the job's unprivileged uid/gid, no groups, no capabilities, empty bounding set)
//     -> prlimit (per-process CPU time, processes, open files, file size, no core dumps)
//     -> bwrap (every namespace unshared, read-only system, seccomp filter) -> the command.
//
// Order matters: as root, bwrap maps the sandbox to real root with full capabilities and RLIMIT_NPROC is
// not enforced, so the uid is dropped before bwrap runs.

export const SANDBOX_INPUT_DIR = '/input';
export const SANDBOX_WORK_DIR = '/work';
export const STATUS_FD = 3;
export const SECCOMP_FD = 4;
export const CGROUP_JOINED = 'cgroup-joined';

/** A host folder mounted read-only at `target`, one of SANDBOX_MOUNT_TARGETS. */
export type SandboxMount = { source: string; target: string };

/**
 * The only places an extra read-only folder may appear inside the sandbox: the two stages of a replay (training data
 * for stage 1; the harness, hidden evaluation data and copied outputs for stage 2). A fixed list, so no task setting
 * can mount over /proc, /dev, /usr or the work folder.
 */
export const SANDBOX_MOUNT_TARGETS = ['/data', '/harness', '/eval', '/output'] as const;

export interface SandboxArgsOptions {
  uid: number;
  command: string[];
  workDir: string;
  inputDir?: string;
  /** Host folders mounted read-only at the sandbox paths given (replay's /data, /harness, /eval, /output). */
  mounts?: SandboxMount[];
  /** The command's working directory: /work (the default) or one of the mounts' targets (stage 2 runs in /harness). */
  cwd?: string;
  readOnlyPaths: string[];
  env: Record<string, string>;
  cpuSeconds: number;
  maxProcesses: number;
  maxOpenFiles: number;
  maxFileBytes: number;
  /** Size of the job's private /tmp and /dev/shm (tmpfs; their pages count against the job's memory too). */
  tmpBytes: number;
  shmBytes: number;
  cgroupProcsFiles: string[];
  /** Host paths of the system's top-level links into /usr (/bin -> usr/bin ...), or real folders. */
  rootLinks: Array<{ path: string; target?: string }>;
  /** /dev/nvidia* nodes to pass in; empty without GPUs. */
  gpuDevices: string[];
  gpus: boolean;
  /** bwrap 0.8+ can forbid user namespaces inside; older ones rely on the seccomp filter alone for that. */
  disableUserns: boolean;
  tools: { bash: string; setpriv: string; prlimit: string; bwrap: string };
}

// Joins every cgroup before anything of the job runs, so no fork can escape the limits; tells the parent
// on fd 3, which bwrap then keeps for its JSON status (and does not pass to the command). Closes every
// other inherited descriptor above the seccomp one: a pipe or socket left open by whatever started the
// worker would otherwise be a channel out of the sandbox. bash, not sh: dash cannot name fds above 9.
const WRAPPER = [
  `for fd in /proc/$$/fd/*; do n=\${fd##*/}; if [ "$n" -gt ${SECCOMP_FD} ]; then eval "exec $n>&-" 2>/dev/null; fi; done`,
  'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done',
  `echo ${CGROUP_JOINED} >&${STATUS_FD}`,
  'exec "$@"',
].join('; ');

export function buildSandboxArgs(options: SandboxArgsOptions): { file: string; args: string[] } {
  const { uid, tools } = options;
  const setpriv = [
    tools.setpriv, `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--',
  ];
  const prlimit = [
    tools.prlimit,
    // The soft limit sends SIGXCPU, the hard one SIGKILL for programs that catch it.
    `--cpu=${options.cpuSeconds}:${options.cpuSeconds + 2}`,
    `--nproc=${options.maxProcesses}`,
    `--nofile=${options.maxOpenFiles}`,
    `--fsize=${options.maxFileBytes}`,
    '--core=0',
    '--',
  ];
  const bwrap = [
    tools.bwrap,
    // --as-pid-1: the command is the namespace's init and the outer bwrap's own child, so the outer bwrap
    // reaps it. With bwrap's separate reaper, the outer bwrap exits first and the reaper is re-parented to
    // the host's PID 1, which in a container may never reap it. When the command exits, the kernel kills
    // whatever else is left in its pid namespace (daemons included).
    '--unshare-all', '--unshare-user', ...(options.disableUserns ? ['--disable-userns'] : []), '--as-pid-1',
    '--cap-drop', 'ALL', '--die-with-parent', '--new-session', '--clearenv',
    '--hostname', 'sandbox',
    '--ro-bind', '/usr', '/usr',
  ];
  for (const link of options.rootLinks) {
    if (link.target !== undefined) bwrap.push('--symlink', link.target, link.path);
    else bwrap.push('--ro-bind', link.path, link.path);
  }
  bwrap.push('--ro-bind', '/etc/ld.so.cache', '/etc/ld.so.cache', '--proc', '/proc', '--dev', '/dev');
  // /tmp and /dev/shm (PyTorch's DataLoader passes tensors through it) are the job's, sized so that filling them
  // ends in ENOSPC rather than in taking the job's whole memory limit; 1777 like a host's.
  bwrap.push('--perms', '1777', '--size', String(options.shmBytes), '--tmpfs', '/dev/shm');
  bwrap.push('--perms', '1777', '--size', String(options.tmpBytes), '--tmpfs', '/tmp');
  // Debian's shared libraries reach their chosen implementation through these links (libblas.so.3 for numpy and
  // PyTorch): links to files under /usr only, nothing secret, and read-only like the rest.
  bwrap.push('--ro-bind-try', '/etc/alternatives', '/etc/alternatives');
  if (options.gpus) {
    // The NVIDIA driver needs the device nodes themselves (a plain --bind refuses device access) and
    // reads /sys; its user-space libraries are already under /usr.
    for (const device of options.gpuDevices) bwrap.push('--dev-bind', device, device);
    bwrap.push('--ro-bind', '/sys', '/sys');
  }
  for (const path of options.readOnlyPaths) bwrap.push('--ro-bind', path, path);
  if (options.inputDir !== undefined) bwrap.push('--ro-bind', options.inputDir, SANDBOX_INPUT_DIR);
  for (const mount of options.mounts ?? []) {
    if (!(SANDBOX_MOUNT_TARGETS as readonly string[]).includes(mount.target)) throw new Error(`sandbox: cannot mount at ${mount.target}`);
    bwrap.push('--ro-bind', mount.source, mount.target);
  }
  const cwd = options.cwd ?? SANDBOX_WORK_DIR;
  if (cwd !== SANDBOX_WORK_DIR && !(options.mounts ?? []).some((m) => m.target === cwd)) throw new Error(`sandbox: cannot start in ${cwd}`);
  bwrap.push('--bind', options.workDir, SANDBOX_WORK_DIR, '--chdir', cwd);
  // The sandbox's own root (where /etc and the mount points live) and /dev are read-only too: /work, /tmp and
  // /dev/shm are the only places a job can write. /dev is a tmpfs of bwrap's, unbounded: writable, it would be a
  // store outside every size limit. The remount is not recursive, so /dev/shm and /dev/pts keep theirs, and it
  // comes after the GPU device nodes are bound.
  bwrap.push('--remount-ro', '/dev', '--remount-ro', '/');
  for (const [name, value] of Object.entries(options.env)) bwrap.push('--setenv', name, value);
  bwrap.push('--json-status-fd', String(STATUS_FD), '--seccomp', String(SECCOMP_FD), '--');

  const procs = options.cgroupProcsFiles;
  return {
    file: tools.bash,
    args: ['-c', WRAPPER, 'sandbox-wrapper', String(procs.length), ...procs, ...setpriv, ...prlimit, ...bwrap, ...options.command],
  };
}
