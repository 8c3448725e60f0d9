// The BPF program is checked by interpreting it here on synthetic seccomp_data, for both architectures.
import { expect, it } from 'vitest';
import { buildSeccompFilter, type SeccompArch } from '../../src/replay/seccomp-filter.ts';

const ARCH = { x86_64: 0xc000003e, aarch64: 0xc00000b7, i386: 0x40000003 };
const ALLOW = 0x7fff0000;
const EPERM = 0x00050001;
const ENOSYS = 0x00050026;
const KILL = 0x80000000;

/** A minimal classic-BPF interpreter for the opcodes the filter uses. */
function evaluate(filter: Buffer, data: { nr: number; arch: number; arg0?: number }): number {
  const word = (offset: number): number => {
    if (offset === 0) return data.nr >>> 0;
    if (offset === 4) return data.arch >>> 0;
    if (offset === 16) return (data.arg0 ?? 0) >>> 0;
    throw new Error(`unexpected load at ${offset}`);
  };
  let acc = 0;
  for (let pc = 0; pc * 8 < filter.length; ) {
    const code = filter.readUInt16LE(pc * 8);
    const jt = filter.readUInt8(pc * 8 + 2);
    const jf = filter.readUInt8(pc * 8 + 3);
    const k = filter.readUInt32LE(pc * 8 + 4);
    if (code === 0x20) acc = word(k);
    else if (code === 0x06) return k;
    else if (code === 0x15) pc += acc === k ? jt : jf;
    else if (code === 0x35) pc += acc >= k ? jt : jf;
    else if (code === 0x45) pc += (acc & k) !== 0 ? jt : jf;
    else throw new Error(`unexpected opcode ${code.toString(16)}`);
    pc += 1;
  }
  throw new Error('fell off the end of the program');
}

const cases: Record<SeccompArch, { socket: number; clone: number; read: number; ptrace: number; unshare: number; bpf: number }> = {
  x86_64: { socket: 41, clone: 56, read: 0, ptrace: 101, unshare: 272, bpf: 321 },
  aarch64: { socket: 198, clone: 220, read: 63, ptrace: 117, unshare: 97, bpf: 280 },
};

for (const [arch, nr] of Object.entries(cases) as Array<[SeccompArch, (typeof cases)['x86_64']]>) {
  it(`${arch}: allows ordinary calls, denies the deny-list with EPERM`, () => {
    const filter = buildSeccompFilter(arch);
    const run = (n: number, arg0?: number) => evaluate(filter, { nr: n, arch: ARCH[arch], arg0 });
    expect(filter.length % 8).toBe(0);
    expect(run(nr.read)).toBe(ALLOW);
    expect(run(nr.ptrace)).toBe(EPERM);
    expect(run(nr.unshare)).toBe(EPERM);
    expect(run(nr.bpf)).toBe(EPERM);
    expect(run(435)).toBe(ENOSYS);
    expect(run(nr.socket, 1)).toBe(ALLOW);
    expect(run(nr.socket, 2)).toBe(EPERM);
    expect(run(nr.socket, 16)).toBe(EPERM);
    expect(run(nr.clone, 0x01200011)).toBe(ALLOW);
    expect(run(nr.clone, 0x10000000)).toBe(EPERM);
    expect(run(nr.clone, 0x40000000 | 0x11)).toBe(EPERM);
  });

  it(`${arch}: kills a call made under another architecture`, () => {
    const filter = buildSeccompFilter(arch);
    const other = arch === 'x86_64' ? ARCH.aarch64 : ARCH.x86_64;
    expect(evaluate(filter, { nr: 0, arch: other })).toBe(KILL);
    expect(evaluate(filter, { nr: 0, arch: ARCH.i386 })).toBe(KILL);
  });
}

it('x86_64: denies the x32 ABI', () => {
  expect(evaluate(buildSeccompFilter('x86_64'), { nr: 0x40000000 + 41, arch: ARCH.x86_64, arg0: 1 })).toBe(EPERM);
});
