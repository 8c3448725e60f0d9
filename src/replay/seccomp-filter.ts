// A classic-BPF seccomp deny-list for the replay sandbox, handed to bubblewrap with `--seccomp FD`.
//
// bubblewrap already removes the network, capabilities and the host's view of the system; this filter
// shrinks the kernel surface that hostile code can still reach (the paths most kernel exploits and
// sandbox escapes go through). Denied calls fail with EPERM so that ordinary programs that probe
// for a feature keep running; a foreign syscall ABI kills the process.

export type SeccompArch = 'x86_64' | 'aarch64';

// <linux/audit.h>
const AUDIT_ARCH: Record<SeccompArch, number> = { x86_64: 0xc000003e, aarch64: 0xc00000b7 };

// <linux/seccomp.h>
const RET_KILL_PROCESS = 0x80000000;
const RET_ERRNO = 0x00050000;
const RET_ALLOW = 0x7fff0000;
const EPERM = 1;
const ENOSYS = 38;

// <linux/filter.h> opcodes
const LD_W_ABS = 0x20;
const JMP_JEQ_K = 0x15;
const JMP_JGE_K = 0x35;
const JMP_JSET_K = 0x45;
const RET_K = 0x06;

// struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6] (little-endian hosts only).
const OFFSET_NR = 0;
const OFFSET_ARCH = 4;
const OFFSET_ARG0_LOW = 16;

const AF_UNIX = 1;
const X32_SYSCALL_BIT = 0x40000000;
// CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET: clone() must not make namespaces.
const CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;

/** Syscalls that fail with EPERM, and the threat each group stops. */
const DENIED = [
  // Tracing and reading other processes' memory: escaping through a sibling or the reaper.
  'ptrace', 'process_vm_readv', 'process_vm_writev',
  // Namespaces and mounts: rebuilding a view of the host filesystem, nested user namespaces.
  'mount', 'umount2', 'pivot_root', 'chroot', 'unshare', 'setns',
  'open_tree', 'move_mount', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'mount_setattr',
  // File handles bypass the mount namespace (the "shocker" escape).
  'open_by_handle_at', 'name_to_handle_at',
  // Kernel keyring, eBPF, perf, userfaultfd, io_uring: large attack surface, frequent local root exploits;
  // io_uring would also run socket operations without passing this filter.
  'keyctl', 'add_key', 'request_key', 'bpf', 'perf_event_open', 'userfaultfd',
  'io_uring_setup', 'io_uring_enter', 'io_uring_register',
  // Kernel and machine state.
  'kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module',
  'swapon', 'swapoff', 'reboot', 'acct', 'syslog', 'quotactl',
] as const;

type SyscallName = (typeof DENIED)[number] | 'socket' | 'clone' | 'clone3';

// Numbers from <asm/unistd_64.h> (x86_64) and <asm-generic/unistd.h> (aarch64), checked against the headers.
const SYSCALLS: Record<SeccompArch, Record<SyscallName, number>> = {
  x86_64: {
    socket: 41, clone: 56, clone3: 435, ptrace: 101, process_vm_readv: 310, process_vm_writev: 311,
    mount: 165, umount2: 166, pivot_root: 155, chroot: 161, unshare: 272, setns: 308,
    open_tree: 428, move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433, mount_setattr: 442,
    open_by_handle_at: 304, name_to_handle_at: 303,
    keyctl: 250, add_key: 248, request_key: 249, bpf: 321, perf_event_open: 298, userfaultfd: 323,
    io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427,
    kexec_load: 246, kexec_file_load: 320, init_module: 175, finit_module: 313, delete_module: 176,
    swapon: 167, swapoff: 168, reboot: 169, acct: 163, syslog: 103, quotactl: 179,
  },
  aarch64: {
    socket: 198, clone: 220, clone3: 435, ptrace: 117, process_vm_readv: 270, process_vm_writev: 271,
    mount: 40, umount2: 39, pivot_root: 41, chroot: 51, unshare: 97, setns: 268,
    open_tree: 428, move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433, mount_setattr: 442,
    open_by_handle_at: 265, name_to_handle_at: 264,
    keyctl: 219, add_key: 217, request_key: 218, bpf: 280, perf_event_open: 241, userfaultfd: 282,
    io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427,
    kexec_load: 104, kexec_file_load: 294, init_module: 105, finit_module: 273, delete_module: 106,
    swapon: 224, swapoff: 225, reboot: 142, acct: 89, syslog: 116, quotactl: 60,
  },
};

type Target = 'allow' | 'eperm' | 'enosys' | 'kill' | 'socket' | 'clone';
type Insn =
  | { op: 'ld'; offset: number }
  | { op: 'jeq' | 'jge' | 'jset'; k: number; jt: Target | 0; jf: Target | 0 }
  | { op: 'label'; name: Target }
  | { op: 'ret'; k: number };

export function toSeccompArch(nodeArch: string): SeccompArch | undefined {
  if (nodeArch === 'x64') return 'x86_64';
  if (nodeArch === 'arm64') return 'aarch64';
  return undefined;
}

/** The filter as the bytes of a `struct sock_filter[]`, ready for `bwrap --seccomp FD`. */
export function buildSeccompFilter(arch: SeccompArch): Buffer {
  const nr = SYSCALLS[arch];
  const program: Insn[] = [
    // A filter that trusted syscall numbers without the arch would let i386 (int 0x80) calls through
    // under different numbers.
    { op: 'ld', offset: OFFSET_ARCH },
    { op: 'jeq', k: AUDIT_ARCH[arch], jt: 0, jf: 'kill' },
    { op: 'ld', offset: OFFSET_NR },
  ];
  if (arch === 'x86_64') {
    // The x32 ABI reuses x86_64 numbers with a high bit set: deny it whole.
    program.push({ op: 'jge', k: X32_SYSCALL_BIT, jt: 'eperm', jf: 0 });
  }
  for (const name of DENIED) program.push({ op: 'jeq', k: nr[name], jt: 'eperm', jf: 0 });
  // clone3 passes its flags in memory that BPF cannot read: answer ENOSYS so libc falls back to clone().
  program.push({ op: 'jeq', k: nr.clone3, jt: 'enosys', jf: 0 });
  program.push({ op: 'jeq', k: nr.socket, jt: 'socket', jf: 0 });
  program.push({ op: 'jeq', k: nr.clone, jt: 'clone', jf: 'allow' });
  // Only AF_UNIX sockets: no netlink (kernel attack surface), no packet or inet sockets even if a
  // network namespace were shared by mistake.
  program.push({ op: 'label', name: 'socket' }, { op: 'ld', offset: OFFSET_ARG0_LOW });
  program.push({ op: 'jeq', k: AF_UNIX, jt: 'allow', jf: 'eperm' });
  program.push({ op: 'label', name: 'clone' }, { op: 'ld', offset: OFFSET_ARG0_LOW });
  program.push({ op: 'jset', k: CLONE_NAMESPACE_FLAGS, jt: 'eperm', jf: 'allow' });
  program.push({ op: 'label', name: 'allow' }, { op: 'ret', k: RET_ALLOW });
  program.push({ op: 'label', name: 'eperm' }, { op: 'ret', k: RET_ERRNO | EPERM });
  program.push({ op: 'label', name: 'enosys' }, { op: 'ret', k: RET_ERRNO | ENOSYS });
  program.push({ op: 'label', name: 'kill' }, { op: 'ret', k: RET_KILL_PROCESS });
  return assemble(program);
}

function assemble(program: Insn[]): Buffer {
  const labels = new Map<Target, number>();
  let index = 0;
  for (const insn of program) {
    if (insn.op === 'label') labels.set(insn.name, index);
    else index += 1;
  }
  const out = Buffer.alloc(index * 8);
  index = 0;
  const offsetTo = (target: Target | 0, from: number): number => {
    if (target === 0) return 0;
    const at = labels.get(target);
    if (at === undefined) throw new Error(`seccomp: unknown label ${target}`);
    const jump = at - from - 1;
    if (jump < 0 || jump > 255) throw new Error(`seccomp: jump to ${target} out of range (${jump})`);
    return jump;
  };
  for (const insn of program) {
    if (insn.op === 'label') continue;
    const base = index * 8;
    if (insn.op === 'ld') {
      out.writeUInt16LE(LD_W_ABS, base);
      out.writeUInt32LE(insn.offset, base + 4);
    } else if (insn.op === 'ret') {
      out.writeUInt16LE(RET_K, base);
      out.writeUInt32LE(insn.k >>> 0, base + 4);
    } else {
      const code = insn.op === 'jeq' ? JMP_JEQ_K : insn.op === 'jge' ? JMP_JGE_K : JMP_JSET_K;
      out.writeUInt16LE(code, base);
      out.writeUInt8(offsetTo(insn.jt, index), base + 2);
      out.writeUInt8(offsetTo(insn.jf, index), base + 3);
      out.writeUInt32LE(insn.k >>> 0, base + 4);
    }
    index += 1;
  }
  return out;
}
