// task-pack.ts, pure: the pins are stable digests of what they cover; a definition is checked with every problem
// listed, each at its field; hostile JSON is refused, never thrown on (a throw would be a 500 at registration).
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  checkTaskDefinition,
  environmentPinsOf,
  evalDataDigestOf,
  harnessDigestOf,
  submissionContractOf,
  taskDefinitionDigestOf,
  taskDefinitionLeafText,
  toTaskPack,
} from '../../src/attest/task-pack.ts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const file = (path: string, bytes = 3) => ({ path, sha256: sha(path), bytes });
const parts = () => ({
  harness: { command: ['/usr/bin/python3', '/harness/score.py'], files: [file('score.py'), file('lib/util.py')], limits: { wallTimeMs: 30_000 } },
  evalData: { files: [file('val.bin', 100), file('val.idx')] },
  trainData: { files: [file('train.bin')] },
});
const task = () => {
  const pack = toTaskPack(parts());
  return {
    id: 'gpt-char',
    title: 'GPT',
    metricName: 'val_bpb',
    direction: 'lower',
    policy: { quorum: 1, direction: 'lower', tolerance: { absolute: 0.02 }, runs: 3, seeds: [1, 2, 3] },
    replay: {
      train: ['/usr/bin/python3', '/input/train.py', '--seed', '{seed}'],
      outputs: [{ path: 'model.pt', maxBytes: 1 << 20 }],
      limits: { wallTimeMs: 120_000 },
      harness: { command: pack.harness.command, limits: pack.harness.limits },
      gpus: 0,
    },
    pack,
  };
};

describe('task pack digests', () => {
  it('do not depend on the order files are listed in, and change with any file', () => {
    const a = parts();
    const b = { ...a.harness, files: [...a.harness.files].reverse() };
    expect(harnessDigestOf(b)).toBe(harnessDigestOf(a.harness));
    expect(evalDataDigestOf([...a.evalData.files].reverse())).toBe(evalDataDigestOf(a.evalData.files));
    expect(evalDataDigestOf([file('val.bin', 101), file('val.idx')])).not.toBe(evalDataDigestOf(a.evalData.files));
    expect(harnessDigestOf({ ...a.harness, command: ['/usr/bin/python3', '/harness/other.py'] })).not.toBe(harnessDigestOf(a.harness));
    const pack = toTaskPack(a);
    expect(environmentPinsOf(pack)).toEqual({ harnessSha256: pack.harnessSha256, datasetSha256: pack.evalDataSha256 });
    expect(environmentPinsOf(null)).toBeNull();
  });

  it('the definition leaf names the task and recomputes to its digest', () => {
    const t = task();
    const checked = checkTaskDefinition(t);
    expect(checked.ok, JSON.stringify(checked)).toBe(true);
    if (!checked.ok) return;
    const def = { ...checked.task, pack: checked.task.pack ?? null };
    const leaf = JSON.parse(taskDefinitionLeafText(def, '2026-12-07T00:00:00.000Z')) as Record<string, unknown>;
    expect(leaf).toMatchObject({ v: 1, kind: 'task-definition', task: 'gpt-char' });
    // No `claim` member: readers that list verdict leaves pass over it.
    expect(leaf).not.toHaveProperty('claim');
    expect(leaf.definitionSha256).toBe(taskDefinitionDigestOf(def));
  });
});

describe('checkTaskDefinition', () => {
  const cases: [string, (t: ReturnType<typeof task> & Record<string, any>) => void, string][] = [
    ['a path with ..', (t) => (t.pack.harness.files[0]!.path = '../score.py'), 'pack.harness.files.0.path'],
    ['an absolute output', (t) => (t.replay.outputs[0]!.path = '/work/model.pt'), 'replay.outputs.0.path'],
    ['a file listed twice', (t) => t.pack.trainData.files.push(file('train.bin')), 'pack.trainData.files'],
    ['no command', (t) => (t.replay.harness.command = []), 'replay.harness.command'],
    ['direction against the policy', (t) => (t.direction = 'higher'), 'policy.direction'],
    ['runs against seeds', (t) => (t.policy.runs = 2), 'policy.seeds'],
    ['empty eval data', (t) => (t.pack.evalData.files = []), 'pack.evalData.files'],
    ['too many GPUs', (t) => (t.replay.gpus = 9), 'replay.gpus'],
    ['a wall time out of range', (t) => (t.replay.limits.wallTimeMs = 25 * 3_600_000), 'replay.limits.wallTimeMs'],
    ['no {seed}', (t) => (t.replay.train = ['/usr/bin/python3', '/input/train.py']), 'replay.train'],
    ['a wrong pin', (t) => (t.pack.evalDataSha256 = sha('other')), 'pack.evalDataSha256'],
    ['a pack without the pack form', (t) => (t.replay = { harness: 'digits-mlp-v1', train: ['x'] } as never), 'replay'],
  ];
  it.each(cases)('names %s at its field, once', (_, mutate, path) => {
    const t = task() as ReturnType<typeof task> & Record<string, any>;
    mutate(t);
    const checked = checkTaskDefinition(t);
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.problems.filter((p) => p.path === path), JSON.stringify(checked.problems)).toHaveLength(1);
  });

  it('lists every problem at once', () => {
    const t = task() as ReturnType<typeof task> & Record<string, any>;
    for (const [, mutate] of cases.slice(0, 10)) mutate(t);
    const checked = checkTaskDefinition(t);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(new Set(checked.problems.map((p) => p.path)).size).toBeGreaterThanOrEqual(10);
  });

  it('refuses hostile JSON without throwing', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        for (const input of [a, { ...task(), replay: a }, { ...task(), pack: a, policy: b }, { ...task(), replay: { ...task().replay, harness: a } }]) {
          const checked = checkTaskDefinition(input);
          if (!checked.ok) expect(checked.problems.length).toBeGreaterThan(0);
        }
        expect(() => submissionContractOf({ metricName: 'm', direction: 'lower', policy: a, replay: b, pack: a })).not.toThrow();
      }),
      { numRuns: 300 },
    );
  });

  it('states the submission contract from the definition', () => {
    const t = task();
    const c = submissionContractOf(t)!;
    expect(c.commitMustContain).toEqual(['train.py']);
    expect(c.train).toMatchObject({ seeds: [1, 2, 3], runs: 3 });
    expect(c.budgets).toEqual({ train: { wallTimeMs: 120_000 }, harness: { wallTimeMs: 30_000 }, gpus: 0 });
    expect(c.evalData).toEqual({ sha256: t.pack.evalDataSha256, files: 2 });
    expect(submissionContractOf({ ...t, replay: null })).toBeNull();
  });
});
