// The digits task as a pack (examples/digits/pack) replays like the compiled-in harness it replaces: the same commit,
// replayed once through the task's old form (harness `digits-mlp-v1`, scored in TypeScript on a thread) and once
// through the pack's two stages (its Python harness in the stage-2 sandbox), gives the same model and the same score;
// only the pins the attestation names differ (the pack's).
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { chmod, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { packReplaySpecSchema, type TaskPack } from '../../src/attest/task-pack.ts';
import { loadTaskPack } from '../../src/cli/task-pack-command.ts';
import { runReplayJob, type JobInput } from '../../src/replay/run-job.ts';
import { ROOT } from '../helpers/processes.ts';
import { bundleWorkTree, initRepo } from './git-fixtures.ts';
import { makeTempDir } from './hostile.ts';
import { describeSandbox } from './sandbox-gate.ts';

const DIGITS = join(ROOT, 'examples', 'digits');

describeSandbox('the digits pack replays like the compiled-in digits harness', () => {
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
      task: 'digits-mlp-pack',
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
    const train = ['/usr/bin/python3', '/input/train.py', '--seed', '{seed}', '--out', '/work/model.json'];
    const old = await runReplayJob({ ...base, replay: { harness: 'digits-mlp-v1', train } });
    const packed = await runReplayJob({ ...base, replay, pack: { pack, source: async (f) => readFile(localOf.get(f.sha256)!) } });
    expect(old.ok, JSON.stringify(old)).toBe(true);
    expect(packed.ok, JSON.stringify(packed)).toBe(true);
    if (!old.ok || !packed.ok) return;
    expect(packed.runs.map((r) => r.value)).toEqual(old.runs.map((r) => r.value));
    expect(packed.runs[0]!.value).toBeGreaterThan(40);
    expect(packed.statement.subject).toEqual(old.statement.subject);
    expect(packed.statement.predicate.environment.harnessSha256).toBe(pack.harnessSha256);
    expect(packed.statement.predicate.environment.datasetSha256).toBe(pack.evalDataSha256);
    expect(old.statement.predicate.environment.harnessSha256).not.toBe(pack.harnessSha256);
  }, 600_000);
});
