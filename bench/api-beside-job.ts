// Latency of the API while a replay job spins on every core beside it, in one run: the real server (embedded
// database), a bounded loop of GET requests to 127.0.0.1, measured
//   1. with nothing else running (the baseline),
//   2. beside a sandboxed CPU-bound job (busy loops, two per core) with the default CPU policy: an idle group
//      (cpu.idle) where the kernel has it, with cpuShares between jobs,
//   3. beside the same job with a low share only (cpuIdle false, cpuShares 64 or --low-shares),
//   4. beside the same job with an equal share (cpuIdle false, cpuShares 1024: what a job had before it got a cpu
//      cgroup, when it ran in the scheduler autogroup of its own session, weighing as much as the API's session).
// The three are interleaved over --reps rounds, in a rotating order, so that drifting load from other processes
// hits them alike. Prints p50/p99 and requests per second of each, their ratios against the baseline, and the
// cores the job still got; ends with one line of JSON. There is no fallback: without the sandbox it fails.
//
// On a virtual machine an idle core is parked by the hypervisor and waking it costs time, so the baseline (idle
// cores) can be slower than a run beside a job that keeps the cores awake: compare the two job modes first.
//
//   npm run bench:api-beside-job -- [--path /healthz] [--requests 3000] [--concurrency 2] [--reps 4] [--low-shares 64]
//
// --low-shares tries another value for mode 3 (the default is DEFAULT_SANDBOX_LIMITS.cpuShares).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, get } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  allocateSandboxUid,
  checkSandboxAvailable,
  DEFAULT_SANDBOX_LIMITS,
  runInSandbox,
  type SandboxResult,
} from '../src/replay/sandbox.ts';

const ROOT = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    path: { type: 'string', default: '/healthz' },
    requests: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '2' },
    reps: { type: 'string', default: '4' },
    'low-shares': { type: 'string', default: String(DEFAULT_SANDBOX_LIMITS.cpuShares) },
  },
});
const PATH = values.path;
const REQUESTS = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);
const REPS = Number(values.reps);
const CORES = availableParallelism();
const SPINNERS = 2 * CORES;

type Mode = 'baseline' | 'default' | 'low_share' | 'equal_share';
type JobMode = Exclude<Mode, 'baseline'>;
const CPU: Record<JobMode, { cpuShares: number; cpuIdle: boolean }> = {
  default: { cpuShares: DEFAULT_SANDBOX_LIMITS.cpuShares, cpuIdle: DEFAULT_SANDBOX_LIMITS.cpuIdle },
  low_share: { cpuShares: Number(values['low-shares']), cpuIdle: false },
  equal_share: { cpuShares: 1024, cpuIdle: false },
};

async function startServer(dataDir: string): Promise<{ url: string; child: ChildProcess }> {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'proofboard.mjs'), 'serve'], {
    cwd: ROOT,
    env: { ...env, PORT: '0', HOST: '127.0.0.1', PROOFBOARD_DATA: dataDir, PROOFBOARD_WORKER: 'off', LOG_LEVEL: 'warn',
      PROOFBOARD_REQUESTS_PER_ADDRESS_PER_MINUTE: '10000000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`server did not start:\n${out}`)), 120_000);
    child.stdout!.on('data', () => {
      const match = /serving (http:\/\/[^\s"]+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        ok(match[1]!);
      }
    });
    child.once('exit', (code) => fail(new Error(`server exited with ${code}:\n${out}`)));
  });
  return { url, child };
}

type Loop = { latencies: number[]; seconds: number };

/** `count` GETs, `concurrency` at a time on kept-alive connections; the latency of each in milliseconds. */
async function requestLoop(url: string, count: number, concurrency: number): Promise<Loop> {
  const loopStarted = performance.now();
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let next = 0;
  const one = (): Promise<void> =>
    new Promise((done, fail) => {
      const started = performance.now();
      get(`${url}${PATH}`, { agent }, (response) => {
        response.resume();
        response.once('end', () => {
          if (response.statusCode !== 200) fail(new Error(`GET ${PATH}: ${response.statusCode}`));
          latencies.push(performance.now() - started);
          done();
        });
      }).once('error', fail);
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next += 1;
        await one();
      }
    }),
  );
  agent.destroy();
  return { latencies, seconds: (performance.now() - loopStarted) / 1000 };
}

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

async function processesOfUid(uid: number): Promise<number> {
  let found = 0;
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const status = await readFile(`/proc/${name}/status`, 'utf8').catch(() => '');
    if (Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]) === uid) found += 1;
  }
  return found;
}

/** Runs the request loop beside a sandboxed job that spins SPINNERS busy loops until told to stop. */
async function besideJob(url: string, cpu: { cpuShares: number; cpuIdle: boolean }): Promise<Loop & { jobCores: number }> {
  const workDir = await mkdtemp(join(tmpdir(), 'proofboard-bench-spin-'));
  const uid = allocateSandboxUid();
  const spin = `for i in $(seq ${SPINNERS}); do (while [ ! -e /work/stop ]; do :; done) & done; wait`;
  const job: Promise<SandboxResult> = runInSandbox({
    command: ['/bin/sh', '-c', spin],
    workDir,
    uid,
    limits: { ...cpu, wallTimeMs: 30 * 60_000, cpuSeconds: 30 * 60 * CORES, memoryBytes: 256 * 1024 ** 2 },
  });
  let failed: unknown;
  job.catch((error: unknown) => (failed = error));
  try {
    // Measure only once every busy loop runs (the shell, its SPINNERS children, and bwrap: more than SPINNERS).
    while ((await processesOfUid(uid)) <= SPINNERS) {
      if (failed !== undefined) throw failed;
      await new Promise((done) => setTimeout(done, 50));
    }
    await new Promise((done) => setTimeout(done, 500));
    const loop = await requestLoop(url, REQUESTS, CONCURRENCY);
    await writeFile(join(workDir, 'stop'), '');
    const result = await job;
    if (result.killReason !== 'none' || result.exitCode !== 0) {
      throw new Error(`spinning job failed: exit ${result.exitCode}, ${result.killReason}: ${result.stderr.toString()}`);
    }
    return { ...loop, jobCores: (result.cpuMs ?? Number.NaN) / result.wallMs };
  } finally {
    await writeFile(join(workDir, 'stop'), '').catch(() => undefined);
    await job.catch(() => undefined);
    await rm(workDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const availability = await checkSandboxAvailable({ smoke: true });
  if (!availability.available) {
    console.error(`replay sandbox unavailable, nothing measured: ${availability.missing.join('; ')}`);
    process.exit(2);
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'proofboard-bench-data-'));
  const server = await startServer(dataDir);
  try {
    // JIT warm-up: the steady state is what is measured.
    await requestLoop(server.url, 2000, CONCURRENCY);
    const latencies: Record<Mode, number[]> = { baseline: [], default: [], low_share: [], equal_share: [] };
    const seconds: Record<Mode, number> = { baseline: 0, default: 0, low_share: 0, equal_share: 0 };
    const jobCores: Record<JobMode, number[]> = { default: [], low_share: [], equal_share: [] };
    const modes: Mode[] = ['baseline', 'default', 'low_share', 'equal_share'];
    for (let rep = 0; rep < REPS; rep += 1) {
      for (const mode of [...modes.slice(rep % modes.length), ...modes.slice(0, rep % modes.length)]) {
        let run: Loop;
        if (mode === 'baseline') {
          run = await requestLoop(server.url, REQUESTS, CONCURRENCY);
        } else {
          const beside = await besideJob(server.url, CPU[mode]);
          jobCores[mode].push(beside.jobCores);
          run = beside;
        }
        latencies[mode].push(...run.latencies);
        seconds[mode] += run.seconds;
        console.log(
          `rep ${rep + 1} ${mode.padEnd(11)} p50 ${percentile(run.latencies, 50).toFixed(2)} ms  p99 ${percentile(run.latencies, 99).toFixed(2)} ms  ` +
            `${(run.latencies.length / run.seconds).toFixed(0)} req/s`,
        );
      }
    }
    const stats = (mode: Mode) => ({
      p50: percentile(latencies[mode], 50),
      p99: percentile(latencies[mode], 99),
      perSecond: latencies[mode].length / seconds[mode],
    });
    const base = stats('baseline');
    const summary = (mode: JobMode) => {
      const { p50, p99, perSecond } = stats(mode);
      const cores = jobCores[mode].reduce((a, b) => a + b, 0) / jobCores[mode].length;
      console.log(
        `${mode} (cpu.shares ${CPU[mode].cpuShares}${CPU[mode].cpuIdle ? ', cpu.idle' : ''}): p50 ${p50.toFixed(2)} ms (x${(p50 / base.p50).toFixed(2)}), ` +
          `p99 ${p99.toFixed(2)} ms (x${(p99 / base.p99).toFixed(2)}), ${perSecond.toFixed(0)} req/s (x${(perSecond / base.perSecond).toFixed(2)}); ` +
          `the job used ${cores.toFixed(2)} of ${CORES} cores`,
      );
      return {
        cpu_shares: CPU[mode].cpuShares,
        cpu_idle: CPU[mode].cpuIdle,
        p50_ms: round(p50),
        p99_ms: round(p99),
        per_second: round(perSecond),
        p50_ratio: round(p50 / base.p50),
        p99_ratio: round(p99 / base.p99),
        per_second_ratio: round(perSecond / base.perSecond),
        job_cores: round(cores),
      };
    };
    console.log(
      `baseline: p50 ${base.p50.toFixed(2)} ms, p99 ${base.p99.toFixed(2)} ms, ${base.perSecond.toFixed(0)} req/s ` +
        `(GET ${PATH}, ${REQUESTS} requests x ${REPS} per mode, ${CONCURRENCY} at a time)`,
    );
    const byMode = { default: summary('default'), low_share: summary('low_share'), equal_share: summary('equal_share') };
    console.log(
      JSON.stringify({
        bench: 'api-beside-job',
        path: PATH,
        requests: REQUESTS * REPS,
        concurrency: CONCURRENCY,
        cores: CORES,
        spinners: SPINNERS,
        baseline: { p50_ms: round(base.p50), p99_ms: round(base.p99), per_second: round(base.perSecond) },
        ...byMode,
      }),
    );
  } finally {
    server.child.kill('SIGTERM');
    await new Promise((done) => server.child.once('exit', done));
    await rm(dataDir, { recursive: true, force: true });
  }
}

const round = (value: number): number => Number(value.toFixed(3));

await main();
