import { expect, it } from 'vitest';
import { buildSandboxArgs, type SandboxArgsOptions } from '../../src/replay/sandbox-args.ts';

const base: SandboxArgsOptions = {
  uid: 2_000_123,
  command: ['/usr/bin/python3', 'train.py'],
  workDir: '/srv/jobs/1/work',
  inputDir: '/srv/jobs/1/input',
  readOnlyPaths: [],
  env: { PATH: '/usr/bin' },
  cpuSeconds: 60,
  maxProcesses: 64,
  maxOpenFiles: 256,
  maxFileBytes: 1 << 20,
  tmpBytes: 64 << 20,
  shmBytes: 32 << 20,
  cgroupProcsFiles: ['/sys/fs/cgroup/memory/proofboard/j/cgroup.procs', '/sys/fs/cgroup/pids/proofboard/j/cgroup.procs'],
  rootLinks: [{ path: '/lib', target: 'usr/lib' }],
  gpuDevices: ['/dev/nvidia0', '/dev/nvidiactl'],
  gpus: false,
  disableUserns: true,
  tools: { bash: '/bin/bash', setpriv: '/usr/bin/setpriv', prlimit: '/usr/bin/prlimit', bwrap: '/usr/bin/bwrap' },
};

it('drops the uid before bwrap runs, and the command comes last', () => {
  const { file, args } = buildSandboxArgs(base);
  expect(file).toBe('/bin/bash');
  const at = (value: string) => args.indexOf(value);
  expect(at('/usr/bin/setpriv')).toBeGreaterThan(0);
  expect(at('/usr/bin/setpriv')).toBeLessThan(at('/usr/bin/prlimit'));
  expect(at('/usr/bin/prlimit')).toBeLessThan(at('/usr/bin/bwrap'));
  expect(args).toContain('--reuid=2000123');
  expect(args).toContain('--bounding-set=-all');
  expect(args).toContain('--core=0');
  expect(args.slice(-3)).toEqual(['--', '/usr/bin/python3', 'train.py']);
  for (const flag of ['--unshare-all', '--disable-userns', '--die-with-parent', '--new-session', '--clearenv', '--as-pid-1']) expect(args).toContain(flag);
  expect(args.join(' ')).toContain('--cap-drop ALL');
  expect(args.join(' ')).toContain('--seccomp 4');
  expect(args.join(' ')).toContain('--ro-bind /srv/jobs/1/input /input');
  expect(args.join(' ')).toContain('--bind /srv/jobs/1/work /work');
  expect(args).not.toContain('--dev-bind');
  expect(args).not.toContain('/sys');
});

it('passes GPU device nodes with --dev-bind and a read-only /sys only when asked', () => {
  const { args } = buildSandboxArgs({ ...base, gpus: true });
  const text = args.join(' ');
  expect(text).toContain('--dev-bind /dev/nvidia0 /dev/nvidia0');
  expect(text).toContain('--dev-bind /dev/nvidiactl /dev/nvidiactl');
  expect(text).toContain('--ro-bind /sys /sys');
});

it('bounds /tmp and /dev/shm and makes /dev read-only after every device node is in place', () => {
  const { args } = buildSandboxArgs({ ...base, gpus: true });
  const text = args.join(' ');
  expect(text).toContain(`--size ${32 << 20} --tmpfs /dev/shm`);
  expect(text).toContain(`--size ${64 << 20} --tmpfs /tmp`);
  const remountDev = args.findIndex((arg, i) => arg === '--remount-ro' && args[i + 1] === '/dev');
  expect(remountDev).toBeGreaterThan(args.lastIndexOf('--dev-bind'));
  expect(remountDev).toBeGreaterThan(args.indexOf('/dev/shm'));
  expect(remountDev).toBeLessThan(args.indexOf('--seccomp'));
});

it('mounts a replay stage\'s folders read-only at their fixed places only, and starts only in /work or one of them', () => {
  const stage2 = { ...base, inputDir: undefined, mounts: [{ source: '/srv/jobs/1/eval', target: '/eval' }, { source: '/srv/jobs/1/harness', target: '/harness' }], cwd: '/harness' };
  const text = buildSandboxArgs(stage2).args.join(' ');
  expect(text).toContain('--ro-bind /srv/jobs/1/eval /eval');
  expect(text).toContain('--ro-bind /srv/jobs/1/harness /harness');
  expect(text).toContain('--bind /srv/jobs/1/work /work --chdir /harness');
  expect(text).not.toContain('/input');
  // A task setting must never mount over the system, /proc or the work folder, nor start anywhere else.
  for (const target of ['/usr', '/proc', '/work', '/', '/eval/../usr', '/etc']) {
    expect(() => buildSandboxArgs({ ...base, mounts: [{ source: '/srv/x', target }] }), target).toThrow(/cannot mount/);
  }
  expect(() => buildSandboxArgs({ ...base, cwd: '/eval' })).toThrow(/cannot start in/);
  expect(buildSandboxArgs(base).args.join(' ')).toContain('--chdir /work');
});
