// Overhead of the replay sandbox: the same deterministic CPU training job run bare and sandboxed, in one
// run, interleaved so that load from other processes hits both alike; and the fixed cost per job
// (sandboxed minus bare `true`, median of several). Ends with one line of JSON.
//
//   npm run bench:replay-overhead -- [--reps 3] [--steps 360] [--fixed-runs 9]
//
// Wall time is what the JSON's bare_s / sandboxed_s report; the job's own CPU time (time.process_time)
// is reported beside it because on a shared, loaded machine wall time mostly measures the neighbours.
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { checkSandboxAvailable, runInSandbox, SANDBOX_INPUT_DIR } from '../src/replay/sandbox.ts';

const PYTHON = '/usr/bin/python3';

// A small MLP trained with plain SGD in pure Python: deterministic (fixed seed, no threads), CPU-bound,
// allocation-heavy like a real training loop. `steps` scales its length (~10 s at the default here).
const TRAIN_PY = `
import math, random, sys, time
steps = int(sys.argv[1])
rng = random.Random(1234)
n_in, n_hidden, n_out, n = 16, 32, 4, 256
xs = [[rng.uniform(-1, 1) for _ in range(n_in)] for _ in range(n)]
ys = [max(range(n_out), key=lambda k: sum(x[(k * 4 + j) % n_in] for j in range(4))) for x in xs]
w1 = [[rng.gauss(0, 0.3) for _ in range(n_in)] for _ in range(n_hidden)]
w2 = [[rng.gauss(0, 0.3) for _ in range(n_hidden)] for _ in range(n_out)]
lr = 0.05
for step in range(steps):
    loss = 0.0
    for x, y in zip(xs, ys):
        h = [max(0.0, sum(wi * xi for wi, xi in zip(row, x))) for row in w1]
        z = [sum(wi * hi for wi, hi in zip(row, h)) for row in w2]
        m = max(z)
        e = [math.exp(v - m) for v in z]
        s = sum(e)
        p = [v / s for v in e]
        loss -= math.log(p[y] + 1e-12)
        g = [p[k] - (1.0 if k == y else 0.0) for k in range(n_out)]
        gh = [sum(g[k] * w2[k][j] for k in range(n_out)) if h[j] > 0 else 0.0 for j in range(n_hidden)]
        for k in range(n_out):
            row = w2[k]
            for j in range(n_hidden):
                row[j] -= lr * g[k] * h[j]
        for j in range(n_hidden):
            if gh[j] != 0.0:
                row = w1[j]
                for i in range(n_in):
                    row[i] -= lr * gh[j] * x[i]
print("final_loss %.12f" % (loss / n))
print("cpu_s %.4f" % time.process_time())
`;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

function runBare(command: string[]): Promise<{ ms: number; stdout: string }> {
  const started = performance.now();
  return new Promise((done, fail) => {
    // detached = setsid(), as bwrap --new-session does for the sandboxed run: with scheduler autogroups a new
    // session gets its own fair share of the CPU, and without it the bare run would compete inside the
    // benchmark's own session and look slower than it is.
    const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.once('error', fail);
    child.once('close', (code) => {
      if (code !== 0) fail(new Error(`bare ${command.join(' ')} exited ${code}`));
      else done({ ms: performance.now() - started, stdout });
    });
  });
}

async function runSandboxed(command: string[], inputDir: string, workDir: string): Promise<{ ms: number; stdout: string }> {
  const started = performance.now();
  const result = await runInSandbox({
    command,
    inputDir,
    workDir,
    limits: { wallTimeMs: 30 * 60_000, cpuSeconds: 30 * 60, memoryBytes: 1024 ** 3 },
  });
  if (result.exitCode !== 0 || result.killReason !== 'none') {
    throw new Error(`sandboxed ${command.join(' ')}: exit ${result.exitCode}, ${result.killReason}: ${result.stderr}`);
  }
  return { ms: performance.now() - started, stdout: result.stdout.toString() };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      reps: { type: 'string', default: '3' },
      steps: { type: 'string', default: '360' },
      'fixed-runs': { type: 'string', default: '9' },
    },
  });
  const reps = Number(values.reps);
  const steps = Number(values.steps);
  const fixedRuns = Number(values['fixed-runs']);
  const availability = await checkSandboxAvailable({ smoke: true });
  if (!availability.available) {
    console.error(`replay sandbox unavailable: ${availability.missing.join('; ')}`);
    process.exit(2);
  }

  const inputDir = await mkdtemp(join(tmpdir(), 'proofboard-bench-input-'));
  const workDir = await mkdtemp(join(tmpdir(), 'proofboard-bench-work-'));
  await chmod(inputDir, 0o755);
  await writeFile(join(inputDir, 'train.py'), TRAIN_PY, { mode: 0o644 });
  try {
    const trueBare: number[] = [];
    const trueSandboxed: number[] = [];
    for (let i = 0; i < fixedRuns; i += 1) {
      trueBare.push((await runBare(['/usr/bin/true'])).ms);
      trueSandboxed.push((await runSandboxed(['/usr/bin/true'], inputDir, workDir)).ms);
    }
    const fixedCostMs = median(trueSandboxed) - median(trueBare);
    console.log(`fixed cost: bare true ${median(trueBare).toFixed(1)} ms, sandboxed true ${median(trueSandboxed).toFixed(1)} ms (median of ${fixedRuns})`);

    const bare: number[] = [];
    const sandboxed: number[] = [];
    const cpu = { bare: [] as number[], sandboxed: [] as number[] };
    let reference: string | undefined;
    for (let rep = 0; rep < reps; rep += 1) {
      // Alternate the order so a drift in machine load does not favour one side.
      const order = rep % 2 === 0 ? (['bare', 'sandboxed'] as const) : (['sandboxed', 'bare'] as const);
      for (const side of order) {
        const run =
          side === 'bare'
            ? await runBare([PYTHON, join(inputDir, 'train.py'), String(steps)])
            : await runSandboxed([PYTHON, `${SANDBOX_INPUT_DIR}/train.py`, String(steps)], inputDir, workDir);
        const loss = /^final_loss .*$/m.exec(run.stdout)?.[0];
        const cpuS = Number(/^cpu_s (.*)$/m.exec(run.stdout)?.[1]);
        reference ??= loss;
        if (loss === undefined || loss !== reference) throw new Error(`non-deterministic job: ${loss} vs ${reference}`);
        (side === 'bare' ? bare : sandboxed).push(run.ms);
        cpu[side].push(cpuS);
        console.log(`rep ${rep + 1} ${side.padEnd(9)} wall ${(run.ms / 1000).toFixed(3)} s  cpu ${cpuS.toFixed(3)} s  ${loss}`);
      }
    }
    const bareS = median(bare) / 1000;
    const sandboxedS = median(sandboxed) / 1000;
    const ratio = sandboxedS / bareS;
    const cpuRatio = median(cpu.sandboxed) / median(cpu.bare);
    console.log(
      `training job (${steps} steps, median of ${reps}): bare ${bareS.toFixed(3)} s, sandboxed ${sandboxedS.toFixed(3)} s, ` +
        `overhead ${((ratio - 1) * 100).toFixed(2)}% wall, ${((cpuRatio - 1) * 100).toFixed(2)}% job CPU; ` +
        `fixed cost per job ${fixedCostMs.toFixed(1)} ms`,
    );
    console.log(
      JSON.stringify({
        bench: 'replay-overhead',
        bare_s: Number(bareS.toFixed(4)),
        sandboxed_s: Number(sandboxedS.toFixed(4)),
        overhead_ratio: Number(ratio.toFixed(4)),
        fixed_cost_ms: Number(fixedCostMs.toFixed(1)),
        bare_cpu_s: Number(median(cpu.bare).toFixed(4)),
        sandboxed_cpu_s: Number(median(cpu.sandboxed).toFixed(4)),
        cpu_overhead_ratio: Number(cpuRatio.toFixed(4)),
        reps,
        steps,
        fixed_runs: fixedRuns,
        bare_runs_s: bare.map((ms) => Number((ms / 1000).toFixed(4))),
        sandboxed_runs_s: sandboxed.map((ms) => Number((ms / 1000).toFixed(4))),
      }),
    );
  } finally {
    await rm(inputDir, { recursive: true, force: true });
    await rm(workDir, { recursive: true, force: true });
  }
}

await main();
