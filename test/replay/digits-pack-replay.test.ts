// The digits task's pack (examples/digits/pack, the example task the server seeds) replays to the score the zk circuit's
// reference evaluator gives: the same commit's training run here, outside any sandbox, gives the model the two-stage
// replay names (its first run's digest) and src/zk/reference-evaluator.ts counts it exactly as the pack's Python
// harness does in the stage-2 sandbox. The attestation names the pack's pins.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { chmod, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { packReplaySpecSchema, type TaskPack } from '../../src/attest/task-pack.ts';
import { loadTaskPack } from '../../src/attest/task-pack-folder.ts';
import { runReplayJob, type JobInput } from '../../src/replay/run-job.ts';
import { countCorrect, parseDigitsCsv, parseWeightsJson } from '../../src/zk/reference-evaluator.ts';
import { ROOT } from '../helpers/processes.ts';
import { bundleWorkTree, initRepo } from './git-fixtures.ts';
import { makeTempDir } from './hostile.ts';
import { describeSandbox } from './sandbox-gate.ts';

const DIGITS = join(ROOT, 'examples', 'digits');

describeSandbox('the digits pack replays to the reference evaluator\'s score', () => {
  let root = '';
  let base: Omit<JobInput, 'replay'>;
  let pack: TaskPack;
  let replay: unknown;
  let localOf = new Map<string, string>();

  beforeAll(async () => {
    root = await makeTempDir('digits-pack');
    await chmod(root, 0o711);
    const loaded = await loadTaskPack(join(DIGITS, 'pack'));
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    const definition = loaded.pack.definition as { pack: TaskPack; replay: unknown };
    pack = definition.pack;
    replay = packReplaySpecSchema.parse(definition.replay);
    localOf = new Map(Object.values(loaded.pack.files).flat().map((f) => [f.sha256, f.local]));
    const repo = initRepo(join(root, 'repo'));
    for (const name of ['train.py', 'train.csv']) copyFileSync(join(DIGITS, name), join(repo, name));
    const made = bundleWorkTree(repo);
    const bundle = readFileSync(made.bundle);
    base = {
      claimId: createHash('sha256').update('digits-pack').digest('hex'),
      task: 'digits-mlp',
      commit: made.commit,
      metricName: 'correct',
      bundle,
      bundleSha256: createHash('sha256').update(bundle).digest('hex'),
      policy: { runs: 1, seeds: [0] },
      gpus: false,
      environment: { gpu: 'cpu', driver: null, runtimes: {} },
      // A plain CPU share: beside the rest of the suite an idle-priority job can starve past its wall time.
      machine: { cpu: { idle: false, shares: 1024 } },
    };
  }, 60_000);

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('same model, same score, the pack\'s pins', async () => {
    const packed = await runReplayJob({ ...base, replay, pack: { pack, source: async (f) => readFile(localOf.get(f.sha256)!) } });
    expect(packed.ok, JSON.stringify(packed)).toBe(true);
    if (!packed.ok) return;
    // The same training, run here: deterministic for a seed, so the model is byte-equal to the replay's.
    const modelPath = join(root, 'model.json');
    execFileSync('/usr/bin/python3', [join(DIGITS, 'train.py'), '--seed', '0', '--out', modelPath], { env: { PATH: '/usr/bin:/bin', PYTHONHASHSEED: '0' } });
    const model = readFileSync(modelPath);
    expect(packed.statement.subject[1]?.digest.sha256).toBe(createHash('sha256').update(model).digest('hex'));
    const rows = parseDigitsCsv(readFileSync(join(DIGITS, 'pack', 'public-eval', 'eval.csv'), 'utf8'));
    expect(packed.runs.map((r) => r.value)).toEqual([countCorrect(parseWeightsJson(model), rows)]);
    expect(packed.runs[0]!.value).toBeGreaterThan(40);
    expect(packed.statement.predicate.environment.harnessSha256).toBe(pack.harnessSha256);
    expect(packed.statement.predicate.environment.datasetSha256).toBe(pack.evalDataSha256);
  }, 600_000);
});
