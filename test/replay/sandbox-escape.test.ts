// Escape and abuse attempts, each run for real inside the sandbox by a hostile Python program, each
// expected to be contained with a clear verdict, and each followed by a check that the host is unharmed.
import { createServer, type Server } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { allocateSandboxUid, DEFAULT_SANDBOX_LIMITS } from '../../src/replay/sandbox.ts';
import { describeSandbox } from './sandbox-gate.ts';
import { leftoverCgroups, makeTempDir, processesOfUid, removeDir, runPython } from './hostile.ts';

const dedent = (source: string): string => {
  const lines = source.replace(/^\n/, '').split('\n');
  const indent = Math.min(...lines.filter((line) => line.trim()).map((line) => /^ */.exec(line)![0].length));
  return lines.map((line) => line.slice(indent)).join('\n');
};

describeSandbox('replay sandbox: escapes and abuse are contained', () => {
  let server: Server;
  let port = 0;
  let connections = 0;
  let dataDir = '';
  const secretKey = `FAKE-VERIFIER-KEY-${Math.random().toString(36).slice(2)}`;
  const hostSecretEnv = `host-secret-${Math.random().toString(36).slice(2)}`;

  beforeAll(async () => {
    server = createServer((socket) => {
      connections += 1;
      socket.end('hello from the host\n');
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    port = (server.address() as { port: number }).port;
    // Stands for the service's data folder with a verifier key in it.
    dataDir = await makeTempDir('data');
    await mkdir(join(dataDir, 'keys'));
    await writeFile(join(dataDir, 'keys', 'verifier.key'), secretKey, { mode: 0o644 });
    process.env.PROOFBOARD_TEST_HOST_SECRET = hostSecretEnv;
  });

  afterAll(async () => {
    await new Promise((done) => server.close(done));
    await removeDir(dataDir);
    delete process.env.PROOFBOARD_TEST_HOST_SECRET;
  });

  it('cannot connect to a listener on the host loopback', async () => {
    const result = await runPython(dedent(`
      import socket, json
      out = {}
      try:
          s = socket.create_connection(("127.0.0.1", ${port}), timeout=3)
          out["connected"] = s.recv(100).decode()
      except OSError as e:
          out["error"] = repr(e)
      out["interfaces"] = [l.split(":")[0].strip() for l in open("/proc/net/dev").readlines()[2:]]
      print(json.dumps(out))
    `));
    const out = JSON.parse(result.out);
    expect(result.exitCode).toBe(0);
    expect(out.connected).toBeUndefined();
    // seccomp refuses the AF_INET socket itself; the network namespace has only a loopback of its own.
    expect(out.error).toMatch(/PermissionError|Errno 1\b/);
    expect(out.interfaces).toEqual(['lo']);
    expect(connections).toBe(0);
  });

  it('cannot resolve a host name', async () => {
    const result = await runPython(dedent(`
      import socket
      try:
          print("resolved", socket.getaddrinfo("example.com", 443))
      except OSError as e:
          print("failed", repr(e))
    `));
    expect(result.exitCode).toBe(0);
    expect(result.out).toMatch(/^failed /);
  });

  it("cannot read the service's data folder, /root or the host's environment", async () => {
    const result = await runPython(dedent(`
      import json, os
      out = {}
      for path in ["${dataDir}/keys/verifier.key", "/root", "/etc/shadow", "/etc/passwd", "/proc/1/environ", "/proc/1/root/etc/shadow"]:
          try:
              if os.path.isdir(path):
                  out[path] = os.listdir(path)
              else:
                  out[path] = open(path, "rb").read().decode("latin1")
          except OSError as e:
              out[path] = "denied: " + type(e).__name__
      out["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
      out["environ"] = dict(os.environ)
      print(json.dumps(out))
    `));
    expect(result.exitCode).toBe(0);
    const out = JSON.parse(result.out) as Record<string, unknown>;
    expect(result.out).not.toContain(secretKey);
    expect(result.out).not.toContain(hostSecretEnv);
    expect(out[`${dataDir}/keys/verifier.key`]).toMatch(/^denied/);
    expect(out['/root']).toMatch(/^denied/);
    expect(out['/etc/shadow']).toMatch(/^denied/);
    expect(out['/etc/passwd']).toMatch(/^denied/);
    expect(out['/proc/1/root/etc/shadow']).toMatch(/^denied/);
    // Only the job's own pid namespace is visible: bwrap's reaper (1) and the job.
    expect((out.pids as number[]).every((pid) => pid < 10)).toBe(true);
    expect(Object.keys(out.environ as object).sort()).toEqual(['HOME', 'LANG', 'PATH', 'PWD', 'TMPDIR']);
  });

  it('cannot write outside its work folder', async () => {
    const hostDir = await makeTempDir('host');
    const inputDir = await makeTempDir('input');
    await writeFile(join(inputDir, 'data.txt'), 'original');
    const result = await runPython(
      dedent(`
        import json
        out = {}
        for path in ["/usr/evil", "/etc/evil", "/evil", "/input/data.txt", "/input/new", "/proc/sys/kernel/hostname", "${hostDir}/evil", "/work/ok"]:
            try:
                with open(path, "w") as f:
                    f.write("x")
                out[path] = "written"
            except OSError as e:
                out[path] = "denied: " + type(e).__name__
        print(json.dumps(out))
      `),
      { inputDir },
    );
    const out = JSON.parse(result.out) as Record<string, string>;
    expect(out['/work/ok']).toBe('written');
    for (const [path, verdict] of Object.entries(out)) if (path !== '/work/ok') expect(verdict, path).toMatch(/^denied/);
    expect(await readdir(hostDir)).toEqual([]);
    expect(await readFile(join(inputDir, 'data.txt'), 'utf8')).toBe('original');
    expect(await readFile(join(result.workDir, 'ok'), 'utf8')).toBe('x');
    await Promise.all([removeDir(hostDir), removeDir(inputDir), removeDir(result.workDir)]);
  });

  it('mounts extra toolchain folders read-only', async () => {
    const toolchain = await makeTempDir('toolchain');
    const { chmod } = await import('node:fs/promises');
    await chmod(toolchain, 0o755);
    await writeFile(join(toolchain, 'lib.py'), 'VALUE = 42\n', { mode: 0o644 });
    const result = await runPython(
      dedent(`
        import sys
        sys.path.insert(0, "${toolchain}")
        import lib
        print("value", lib.VALUE)
        try:
            open("${toolchain}/lib.py", "w").write("VALUE = 0")
            print("written")
        except OSError as e:
            print("denied", type(e).__name__)
      `),
      { readOnlyPaths: [toolchain] },
    );
    expect(result.out).toContain('value 42');
    expect(result.out).toMatch(/denied/);
    expect(await readFile(join(toolchain, 'lib.py'), 'utf8')).toBe('VALUE = 42\n');
    await removeDir(toolchain);
  });

  it('runs unprivileged, with no capabilities, no inherited descriptors and the seccomp filter on', async () => {
    const result = await runPython(dedent(`
      import json, os
      status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines())
      print(json.dumps({"uid": os.getuid(), "fds": sorted(os.listdir("/proc/self/fd")),
        "capeff": status["CapEff"].strip(), "capbnd": status["CapBnd"].strip(),
        "seccomp": status["Seccomp"].strip(), "nnp": status["NoNewPrivs"].strip()}))
    `));
    const out = JSON.parse(result.out);
    expect(out.uid).toBe(result.uid);
    expect(out.uid).not.toBe(0);
    expect(out.capeff).toBe('0000000000000000');
    expect(out.capbnd).toBe('0000000000000000');
    expect(out.seccomp).toBe('2');
    expect(out.nnp).toBe('1');
    // 0-2 and the descriptor listdir itself opened.
    expect(out.fds).toEqual(['0', '1', '2', '3']);
  });

  it('denies the kernel interfaces on the seccomp deny-list with EPERM', async () => {
    const result = await runPython(dedent(`
      import ctypes, json, os, socket
      libc = ctypes.CDLL(None, use_errno=True)
      def call(nr, *args):
          ctypes.set_errno(0)
          r = libc.syscall(nr, *[ctypes.c_long(a) for a in args])
          return "ok" if r >= 0 else os.strerror(ctypes.get_errno())
      import platform
      x86 = platform.machine() == "x86_64"
      nr = dict(ptrace=101, unshare=272, mount=165, keyctl=250, bpf=321, perf_event_open=298, setns=308, userfaultfd=323, io_uring_setup=425) if x86 else \\
           dict(ptrace=117, unshare=97, mount=40, keyctl=219, bpf=280, perf_event_open=241, setns=268, userfaultfd=282, io_uring_setup=425)
      out = {
        "ptrace": call(nr["ptrace"], 16, 1, 0, 0),
        "unshare": call(nr["unshare"], 0x10000000),
        "mount": call(nr["mount"], 0, 0, 0, 0, 0),
        "keyctl": call(nr["keyctl"], 0, 0, 0, 0, 0),
        "bpf": call(nr["bpf"], 0, 0, 0),
        "perf_event_open": call(nr["perf_event_open"], 0, 0, -1, -1, 0),
        "setns": call(nr["setns"], 0, 0),
        "userfaultfd": call(nr["userfaultfd"], 0),
        "io_uring_setup": call(nr["io_uring_setup"], 1, 0),
      }
      for name, family in [("netlink", socket.AF_NETLINK), ("inet6", socket.AF_INET6), ("packet", socket.AF_PACKET)]:
          try:
              socket.socket(family, socket.SOCK_RAW if name != "inet6" else socket.SOCK_STREAM); out[name] = "ok"
          except OSError as e:
              out[name] = os.strerror(e.errno)
      a, b = socket.socketpair(socket.AF_UNIX)
      a.send(b"unix ok"); out["unix"] = b.recv(10).decode()
      print(json.dumps(out))
    `));
    const out = JSON.parse(result.out) as Record<string, string>;
    expect(out.unix).toBe('unix ok');
    for (const [name, verdict] of Object.entries(out)) if (name !== 'unix') expect(verdict, name).toBe('Operation not permitted');
  });

  it('stops a fork bomb at the process limit and leaves nothing running', async () => {
    const result = await runPython(
      dedent(`
        import os, time
        n = 0
        while True:
            try:
                if os.fork() == 0:
                    time.sleep(1000)
                n += 1
            except OSError:
                print("fork refused after", n, flush=True)
                time.sleep(1000)
      `),
      { limits: { maxProcesses: 32, wallTimeMs: 5_000 } },
    );
    expect(result.out).toMatch(/^fork refused after \d+/m);
    expect(Number(/after (\d+)/.exec(result.out)![1])).toBeLessThan(32);
    expect(result.killReason).toBe('wall_time');
    expect(await processesOfUid(result.uid)).toEqual([]);
    expect(leftoverCgroups(result.jobId)).toEqual([]);
  });

  it('kills a job that allocates ten times its memory limit', async () => {
    const limit = 64 * 1024 ** 2;
    const result = await runPython(
      dedent(`
        chunks = []
        for i in range(64):
            chunks.append(bytearray(${(10 * limit) / 64}))
            print("allocated", (i + 1) * ${(10 * limit) / 64} // 1048576, "MiB", flush=True)
      `),
      { limits: { memoryBytes: limit } },
    );
    expect(result.killReason).toBe('memory');
    expect(result.exitCode).not.toBe(0);
    expect(result.out).not.toContain('allocated 640 MiB');
    expect(result.peakMemoryBytes).toBeLessThanOrEqual(limit);
  });

  it('kills a job that spins past its CPU time', async () => {
    // A plain CPU share, not the default idle group: an idle job next to other tests' busy processes (a training
    // replay at plain share, say) can get under 2 s of CPU in 30 s and be stopped by the wall clock instead, which is
    // not what this test is about.
    const result = await runPython('while True: pass', { limits: { cpuSeconds: 2, wallTimeMs: 30_000, cpuIdle: false } });
    expect(result.killReason).toBe('cpu_time');
    expect(result.wallMs).toBeLessThan(30_000);
  });

  it('kills a job that sleeps past its wall time', async () => {
    const result = await runPython('import time\ntime.sleep(1000)', { limits: { wallTimeMs: 1_500 } });
    expect(result.killReason).toBe('wall_time');
    expect(result.signal ?? result.exitCode).toBeTruthy();
    expect(await processesOfUid(result.uid)).toEqual([]);
  });

  it('drains 1 GB of output, keeping only the capped part', async () => {
    const cap = 64 * 1024;
    const result = await runPython(
      dedent(`
        import sys
        block = b"x" * (1 << 20)
        for _ in range(1024):
            sys.stdout.buffer.write(block)
      `),
      // Moving 1 GB through a pipe takes seconds on an idle machine and far longer on a loaded one.
      { limits: { outputCapBytes: cap, outputKillBytes: 2 * 1024 ** 3, wallTimeMs: 240_000, cpuSeconds: 240 } },
    );
    expect(result.killReason).toBe('none');
    expect(result.exitCode).toBe(0);
    expect(result.stdoutBytes).toBe(1024 ** 3);
    expect(result.stdout.length).toBe(cap);
    expect(result.stdoutTruncated).toBe(true);
  }, 300_000);

  it('kills a job whose output passes the kill threshold', async () => {
    const result = await runPython('import sys\nwhile True: sys.stdout.buffer.write(b"y" * 65536)', {
      limits: { outputCapBytes: 1024, outputKillBytes: 8 * 1024 ** 2 },
    });
    expect(result.killReason).toBe('output');
    expect(result.stdout.length).toBe(1024);
    expect(result.stdoutTruncated).toBe(true);
  });

  it('leaves no daemon running after the job exits', async () => {
    const result = await runPython(dedent(`
      import os, time
      if os.fork() == 0:
          os.setsid()
          if os.fork() == 0:
              while True:
                  with open("/work/heartbeat", "a") as f:
                      f.write(".")
                  time.sleep(0.05)
          os._exit(0)
      time.sleep(0.5)
      print("parent exits")
    `));
    expect(result.exitCode).toBe(0);
    expect(result.out).toContain('parent exits');
    expect(await processesOfUid(result.uid)).toEqual([]);
    expect(leftoverCgroups(result.jobId)).toEqual([]);
    const before = (await stat(join(result.workDir, 'heartbeat'))).size;
    await new Promise((done) => setTimeout(done, 300));
    expect((await stat(join(result.workDir, 'heartbeat'))).size).toBe(before);
    await removeDir(result.workDir);
  });

  it('cannot write to /dev, and /dev/shm and /tmp are bounded', async () => {
    const mib = 1024 ** 2;
    const result = await runPython(
      dedent(`
        import errno, json, os
        out = {}
        for path in ["/dev/x", "/dev/null2"]:
            try:
                open(path, "w").write("x"); out[path] = "written"
            except OSError as e:
                out[path] = errno.errorcode[e.errno]
        try:
            os.mkdir("/dev/dir"); out["/dev/dir"] = "made"
        except OSError as e:
            out["/dev/dir"] = errno.errorcode[e.errno]
        open("/dev/null", "w").write("still a sink"); out["/dev/null"] = "ok"
        for folder in ["/dev/shm", "/tmp"]:
            written = 0
            try:
                with open(folder + "/fill", "wb") as f:
                    while True:
                        f.write(b"x" * 1048576); f.flush(); written += 1
            except OSError as e:
                out[folder] = [written, errno.errorcode[e.errno]]
        print(json.dumps(out))
      `),
      { limits: { shmBytes: 4 * mib, tmpBytes: 6 * mib } },
    );
    expect(result.err).toBe('');
    const out = JSON.parse(result.out) as Record<string, unknown>;
    expect(out['/dev/x']).toBe('EROFS');
    expect(out['/dev/null2']).toBe('EROFS');
    expect(out['/dev/dir']).toBe('EROFS');
    expect(out['/dev/null']).toBe('ok');
    // Exactly the cap fits; the next MiB gets ENOSPC.
    expect(out['/dev/shm']).toEqual([4, 'ENOSPC']);
    expect(out['/tmp']).toEqual([6, 'ENOSPC']);
    expect(result.killReason).toBe('none');
    await removeDir(result.workDir);
  });

  it("puts the job's processes in an idle, low-share cpu cgroup, removed afterwards", async () => {
    const uid = allocateSandboxUid();
    const workDir = await makeTempDir('cpu');
    // The job waits for the host to say it has looked, so the check needs no timing.
    const running = runPython('import os, time\nwhile not os.path.exists("/work/stop"): time.sleep(0.05)', { workDir, uid });
    let finished = false;
    void running.finally(() => (finished = true));
    let cgroupLines: string[] = [];
    while (cgroupLines.length === 0 && !finished) {
      const [pid] = await processesOfUid(uid);
      if (pid !== undefined) cgroupLines = (await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '')).split('\n');
      await new Promise((done) => setTimeout(done, 20));
    }
    expect(cgroupLines.length, 'the job ended before its cgroups were seen').toBeGreaterThan(0);
    const v1 = cgroupLines.map((line) => /^\d+:(?:[^:]*,)?cpu(?:,[^:]*)?:(.+)$/.exec(line)?.[1]).find((path) => path !== undefined);
    const v2 = cgroupLines.map((line) => /^0::(.+)$/.exec(line)?.[1]).find((path) => path !== undefined);
    const group = v1 !== undefined ? `/sys/fs/cgroup/cpu${v1}` : `/sys/fs/cgroup${v2}`;
    const read = (file: string) => readFile(file, 'utf8').then((text) => text.trim(), () => undefined);
    const weightFile = v1 !== undefined ? 'cpu.shares' : 'cpu.weight';
    const [own, parent, parentIdle] = [
      await read(`${group}/${weightFile}`),
      await read(`${group}/../${weightFile}`),
      await read(`${group}/../cpu.idle`),
    ];
    await writeFile(join(workDir, 'stop'), '');
    const result = await running;
    expect(result.exitCode).toBe(0);
    expect(group).toMatch(new RegExp(`/proofboard/${result.jobId}$`));
    const expected = v1 !== undefined ? DEFAULT_SANDBOX_LIMITS.cpuShares : Math.round((DEFAULT_SANDBOX_LIMITS.cpuShares * 100) / 1024);
    expect(Number(own)).toBe(expected);
    expect(expected).toBeLessThan(v1 !== undefined ? 1024 : 100);
    // What counts against the host's processes is the proofboard group's setting: idle where the kernel has
    // cpu.idle (Linux 5.15), which also gives it the lowest weight, else the low share.
    if (parentIdle !== undefined) {
      expect(parentIdle).toBe('1');
      // v1 shows an idle group's weight as cpu.shares 3.
      if (v1 !== undefined) expect(Number(parent)).toBeLessThan(expected);
    } else {
      expect(Number(parent)).toBe(expected);
    }
    expect(existsSync(group)).toBe(false);
    await removeDir(workDir);
  });
});
