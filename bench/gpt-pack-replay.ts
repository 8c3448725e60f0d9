// What one replay of the gpt-char example pack costs, stage 1 (training) and stage 2 (the harness) apart, in one run:
//   1. the baseline: the sample commit's train.py and the pack's harness run directly with /usr/bin/python3 (no
//      sandbox), one seed;
//   2. the same seed replayed through runReplayJob with the real two-stage sandbox (checkout, pack files, stage 1,
//      copy out, stage 2).
// Prints wall and CPU seconds of each stage, the sandboxed/direct ratios, and both metrics (they must be equal: the
// same seed on the same CPU), then one line of JSON. CPU seconds are the robust number on a shared machine; wall time
// moves with whatever else runs. There is no fallback: without the sandbox it fails.
//
//   npx tsx bench/gpt-pack-replay.ts [--seed 1] [--steps 300]
//
// --steps rewrites the sample's STEPS (a shorter training for a quick look; the README's numbers use 300).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { packReplaySpecSchema, type TaskPack } from '../src/attest/task-pack.ts';
import { loadTaskPack } from '../src/attest/task-pack-folder.ts';
import { runReplayJob } from '../src/replay/run-job.ts';
import { checkSandboxAvailable } from '../src/replay/sandbox.ts';

const { values } = parseArgs({ options: { seed: { type: 'string', default: '1' }, steps: { type: 'string', default: '300' } } });
const seed = Number(values.seed);
const steps = Number(values.steps);
const PACK = resolve(import.meta.dirname, '..', 'examples', 'gpt-char');

const available = await checkSandboxAvailable({ smoke: true });
if (!available.available) throw new Error(`no sandbox: ${available.missing.join('; ')}`);
const loaded = await loadTaskPack(PACK);
if (!loaded.ok) throw new Error(`pack: ${JSON.stringify(loaded.problems)}`);
const definition = loaded.pack.definition as { pack: TaskPack; replay: unknown; metricName: string };
const spec = packReplaySpecSchema.parse(definition.replay);
const localOf = new Map(Object.values(loaded.pack.files).flat().map((f) => [f.sha256, f.local]));

const root = await mkdtemp(join(tmpdir(), 'proofboard-bench-gpt-'));
await chmod(root, 0o711);
try {
  const source = (await readFile(join(PACK, 'commit', 'train.py'), 'utf8')).replace('STEPS = 300\n', `STEPS = ${steps}\n`);

  // 1. Direct: the same two commands, with the pack's folders in place of the mounts.
  const direct = join(root, 'direct');
  await mkdir(direct);
  await writeFile(join(direct, 'train.py'), source);
  const timed = (args: string[], env: Record<string, string>) => {
    const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S', '/usr/bin/python3', ...args], { env: { PATH: '/usr/bin:/bin', ...env }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`direct run failed: ${r.stderr}`);
    const [wall, user, sys] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
    return { wallS: wall!, cpuS: user! + sys!, stdout: r.stdout };
  };
  const train1 = timed([join(direct, 'train.py'), '--seed', String(seed), '--out', join(direct, 'model.safetensors'), '--data', join(PACK, 'data', 'train.txt')], {});
  const harness1 = timed([join(PACK, 'harness', 'evaluate.py')], { PROOFBOARD_OUTPUT_DIR: direct, PROOFBOARD_EVAL_DIR: join(PACK, 'eval') });
  const directMetric = (JSON.parse(harness1.stdout.trim().split('\n').at(-1)!) as { metric: number }).metric;

  // 2. Sandboxed, two stages, through the worker's own function.
  const repo = join(root, 'repo');
  execFileSync('git', ['init', '--quiet', repo]);
  await writeFile(join(repo, 'train.py'), source);
  const git = (...a: string[]) => execFileSync('git', ['-c', 'user.name=b', '-c', 'user.email=b@example.invalid', ...a], { cwd: repo, encoding: 'utf8' }).trim();
  git('add', 'train.py');
  git('commit', '--quiet', '-m', 'sample');
  git('bundle', 'create', '--quiet', join(root, 'c.bundle'), 'HEAD');
  const bundle = await readFile(join(root, 'c.bundle'));
  const started = performance.now();
  const outcome = await runReplayJob({
    claimId: createHash('sha256').update('bench').digest('hex'),
    task: 'gpt-char',
    commit: git('rev-parse', 'HEAD'),
    metricName: definition.metricName,
    bundle,
    bundleSha256: createHash('sha256').update(bundle).digest('hex'),
    policy: { runs: 1, seeds: [seed] },
    replay: spec,
    pack: { pack: definition.pack, source: async (f) => readFile(localOf.get(f.sha256)!) },
    gpus: false,
    environment: { gpu: 'cpu', driver: null, runtimes: {} },
  });
  const totalS = (performance.now() - started) / 1000;
  if (!outcome.ok) throw new Error(`replay failed: ${outcome.code}: ${outcome.message}`);
  const run = outcome.runs[0]!;
  const s1 = { wallS: run.wallMs / 1000, cpuS: (run.cpuMs ?? Number.NaN) / 1000 };
  const s2 = { wallS: (run.harnessWallMs ?? Number.NaN) / 1000, cpuS: (run.harnessCpuMs ?? Number.NaN) / 1000 };
  const f = (x: number) => x.toFixed(1);
  console.log(`seed ${seed}, ${steps} steps`);
  console.log(`stage 1 (training): sandboxed wall ${f(s1.wallS)} s cpu ${f(s1.cpuS)} s | direct wall ${f(train1.wallS)} s cpu ${f(train1.cpuS)} s | cpu ratio ${(s1.cpuS / train1.cpuS).toFixed(2)}`);
  console.log(`stage 2 (harness):  sandboxed wall ${f(s2.wallS)} s cpu ${f(s2.cpuS)} s | direct wall ${f(harness1.wallS)} s cpu ${f(harness1.cpuS)} s | cpu ratio ${(s2.cpuS / harness1.cpuS).toFixed(2)}`);
  console.log(`whole sandboxed replay (checkout, pack files, both stages): wall ${f(totalS)} s`);
  console.log(`metric: sandboxed ${run.value}, direct ${directMetric}${run.value === directMetric ? ' (equal)' : ' (DIFFERENT)'}`);
  console.log(JSON.stringify({ seed, steps, stage1: s1, stage2: s2, direct: { train: train1, harness: { wallS: harness1.wallS, cpuS: harness1.cpuS } }, totalS, metric: run.value, directMetric }, (k, v) => (k === 'stdout' ? undefined : v)));
} finally {
  await rm(root, { recursive: true, force: true });
}
