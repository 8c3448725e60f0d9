// Two-stage replay of a task pack (src/replay/run-job.ts), with the real sandbox: stage 1 runs the commit with the
// training data and nothing of the hidden evaluation data; its declared outputs are copied out without following links;
// stage 2 runs the pack's harness in a fresh sandbox on that copy and on the hidden data; the attestation names the
// pack's pins. Each case below can fail: a training that could see the hidden file, a harness that could not, an
// output link that was followed, a pack file other than its pin, would each change the outcome.
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { chmod, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { toTaskPack, type PackFile, type PackReplaySpec, type TaskPack } from '../../src/attest/task-pack.ts';
import { parseMetricLine } from '../../src/replay/harness-stage.ts';
import { materializePack, PackFileMismatchError, type PackFileSource } from '../../src/replay/pack-files.ts';
import { runReplayJob, type JobInput } from '../../src/replay/run-job.ts';
import { bundleWorkTree, initRepo } from './git-fixtures.ts';
import { makeTempDir } from './hostile.ts';
import { describeSandbox } from './sandbox-gate.ts';

const MiB = 1024 ** 2;
const SECRET = 'hidden-eval-7f3a9c';
const CONTROL = 'training-data-c41b2e';

// Stage 1's probe: looks for the hidden file's marker everywhere it can reach and reports where it found it. /usr is
// the host's read-only system (no pack file is there); everything else it can name is walked.
const PROBE = String.raw`
import json, os, stat, sys
SECRET = sys.argv[1].encode()
CONTROL = sys.argv[2].encode()
found, checked, control = [], 0, 0
PRUNE = {p + q for p in ("", "/proc/1/root") for q in ("/usr", "/proc", "/sys", "/dev")}
def look(path):
    global checked, control
    try:
        # Regular files only: a FIFO or /dev/stdout (a pipe) would block the probe instead of answering.
        if not stat.S_ISREG(os.stat(path).st_mode):
            return
        with open(path, "rb") as f:
            data = f.read(1 << 20)
        checked += 1
        if SECRET in data:
            found.append(path)
        if CONTROL in data:
            control += 1
    except Exception:
        pass
for name in ["/eval/answer.txt", "/harness/score.py", "/output", "../eval/answer.txt", "/input/../eval/answer.txt",
             "/proc/1/root/eval/answer.txt", "/proc/self/root/eval/answer.txt", "/proc/1/environ", "/proc/self/environ"]:
    look(name)
for top in ["/", "/proc/1/root", "/tmp", "/dev/shm", "/data", "/input", "/work"]:
    for dirpath, dirs, files in os.walk(top, followlinks=False):
        dirs[:] = [d for d in dirs if os.path.join(dirpath, d) not in PRUNE]
        for f in files:
            look(os.path.join(dirpath, f))
os.makedirs("/work/out", exist_ok=True)
data = open("/data/train.txt").read().split()[0]
with open("/work/out/report.json", "w") as f:
    json.dump({"found": found, "checked": checked, "control": control, "data": data}, f)
`;

// Stage 2's harness: the metric is the number in the hidden file, plus 1000 for each place stage 1 found the secret,
// plus 100 when the same search found the control marker of the training data (the search works), plus the training
// data's number (the output came through /output).
const HARNESS = String.raw`
import json
report = json.load(open("/output/out/report.json"))
secret, value = open("/eval/answer.txt").read().split()
print("scoring", flush=True)
print(json.dumps({"metric": int(value) + 1000 * len(report["found"]) + 100 * min(1, report["control"]) + int(report["data"])}))
`;

const SPEC: PackReplaySpec = {
  train: ['/usr/bin/python3', '/input/train.py', '{seed}'],
  outputs: [{ path: 'out/report.json', maxBytes: 64 * 1024 }],
  limits: { wallTimeMs: 120_000, cpuSeconds: 60, memoryBytes: 256 * MiB },
  harness: { command: ['/usr/bin/python3', '/harness/score.py'], limits: { wallTimeMs: 60_000, cpuSeconds: 30, memoryBytes: 256 * MiB } },
  gpus: 0,
};

const fileOf = (path: string, bytes: Buffer): PackFile => ({ path, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length });

describeSandbox('two-stage replay of a task pack', () => {
  let root = '';
  let pack: TaskPack;
  const blobs = new Map<string, Buffer>();
  const source: PackFileSource = async (file) => blobs.get(file.sha256)!;
  const commits: Record<string, { bundle: Buffer; commit: string }> = {};

  const input = (name: string, over: Partial<JobInput> = {}): JobInput => ({
    claimId: createHash('sha256').update(name).digest('hex'),
    task: 'two-stage',
    commit: commits[name]!.commit,
    metricName: 'score',
    bundle: commits[name]!.bundle,
    bundleSha256: createHash('sha256').update(commits[name]!.bundle).digest('hex'),
    policy: { runs: 2, seeds: [3, 4] },
    replay: SPEC,
    pack: { pack, source },
    gpus: false,
    environment: { gpu: 'cpu', driver: null, runtimes: {} },
    ...over,
  });

  beforeAll(async () => {
    root = await makeTempDir('two-stage');
    await chmod(root, 0o711);
    const parts = {
      harness: [['score.py', Buffer.from(HARNESS)]],
      eval: [['answer.txt', Buffer.from(`${SECRET} 42\n`)]],
      data: [['train.txt', Buffer.from(`7 ${CONTROL}\n`)]],
    } as const;
    for (const list of Object.values(parts)) for (const [, bytes] of list) blobs.set(fileOf('x', bytes).sha256, bytes);
    pack = toTaskPack({
      harness: { command: SPEC.harness.command, files: parts.harness.map(([p, b]) => fileOf(p, b)), limits: SPEC.harness.limits },
      evalData: { files: parts.eval.map(([p, b]) => fileOf(p, b)) },
      trainData: { files: parts.data.map(([p, b]) => fileOf(p, b)) },
    });
    const trains: Record<string, string> = {
      // The marker travels hex-encoded: the probe's own source (at /input) must not contain it.
      probe: `import sys\nsys.argv = [sys.argv[0], *(bytes.fromhex(h).decode() for h in ${JSON.stringify([Buffer.from(SECRET).toString('hex'), Buffer.from(CONTROL).toString('hex')])})]\n${PROBE}`,
      // The declared output's folder is a link to a folder of the job's own: followed, it would score normally.
      'linked-folder': 'import os, json\nos.makedirs("/work/real")\njson.dump({"found": [], "control": 1, "data": "7"}, open("/work/real/report.json", "w"))\nos.symlink("/work/real", "/work/out")\n',
      'no-output': 'print("trained nothing")\n',
    };
    for (const [name, source] of Object.entries(trains)) {
      const repo = initRepo(join(root, `repo-${name}`));
      writeFileSync(join(repo, 'train.py'), source);
      const made = bundleWorkTree(repo, `${name}.bundle`);
      commits[name] = { bundle: readFileSync(made.bundle), commit: made.commit };
    }
  }, 60_000);

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('scores with the hidden data in stage 2 only, and attests the pack pins', async () => {
    const outcome = await runReplayJob(input('probe'));
    expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
    if (!outcome.ok) return;
    // 42 from /eval (the harness read it), + 7 from /data through /output, + 100 for the control marker the search
    // found in /data, + 0 places where training found the secret.
    expect(outcome.runs.map((r) => [r.seed, r.value])).toEqual([
      [3, 149],
      [4, 149],
    ]);
    const env = outcome.statement.predicate.environment;
    expect(env.harnessSha256).toBe(pack.harnessSha256);
    expect(env.datasetSha256).toBe(pack.evalDataSha256);
    expect(outcome.runs.every((r) => typeof r.harnessWallMs === 'number')).toBe(true);
  }, 240_000);

  it('refuses an output reached through a linked folder (harness_failed), without following it', async () => {
    const outcome = await runReplayJob(input('linked-folder'));
    expect(outcome).toMatchObject({ ok: false, code: 'harness_failed' });
    expect(!outcome.ok && outcome.message).toContain('symbolic link');
  }, 120_000);

  it('refuses a run that leaves no declared output', async () => {
    const outcome = await runReplayJob(input('no-output'));
    expect(outcome).toMatchObject({ ok: false, code: 'harness_failed' });
    expect(!outcome.ok && outcome.message).toContain('training left no');
  }, 120_000);

  it('a harness whose last line is not the metric fails the claim with harness_failed', async () => {
    const printer = Buffer.from('print("metric: 0.5")\n');
    blobs.set(fileOf('x', printer).sha256, printer);
    const bad = toTaskPack({ harness: { command: SPEC.harness.command, files: [fileOf('score.py', printer)], limits: SPEC.harness.limits }, evalData: pack.evalData, trainData: pack.trainData });
    const outcome = await runReplayJob(input('probe', { pack: { pack: bad, source } }));
    expect(outcome).toMatchObject({ ok: false, code: 'harness_failed' });
    expect(!outcome.ok && outcome.message).toContain('not JSON');
  }, 240_000);

  it('throws (the job goes back) when a pack file is not what the pack pins', async () => {
    const swapped: PackFileSource = async (file) => (file.path === 'answer.txt' ? Buffer.from(`${SECRET} 99\n`) : blobs.get(file.sha256)!);
    await expect(runReplayJob(input('probe', { pack: { pack, source: swapped } }))).rejects.toThrow(PackFileMismatchError);
  }, 60_000);
});

it('parseMetricLine takes only {"metric": <finite number>} on the last non-empty line', () => {
  expect(parseMetricLine(Buffer.from('log\n{"metric": 1.25}\n\n'))).toEqual({ ok: true, value: 1.25 });
  for (const text of ['', '{"metric": 1}\nmore', '{"metric": "1"}', '{"metric": 1, "x": 2}', '[1]', 'null', '{"metric": 1e999}']) {
    expect(parseMetricLine(Buffer.from(text)).ok, text).toBe(false);
  }
  expect(parseMetricLine(Buffer.from('{"metric": 1}'), true).ok).toBe(false);
});


it('materializePack writes each pinned file under its path and stops a source that sends more than the pin', async () => {
  const dir = await makeTempDir('pack-files');
  try {
    const a = Buffer.from('harness\n');
    const b = Buffer.from('held out\n');
    const pack = toTaskPack({
      harness: { command: ['/usr/bin/true'], files: [fileOf('bin/run.py', a)], limits: {} },
      evalData: { files: [fileOf('sets/one/val.txt', b)] },
      trainData: { files: [] },
    });
    const byDigest = new Map([a, b].map((x) => [fileOf('x', x).sha256, x]));
    const folders = await materializePack(join(dir, 'ok'), pack, async (f) => byDigest.get(f.sha256)!);
    expect(readFileSync(join(folders.harnessDir, 'bin', 'run.py'))).toEqual(a);
    expect(readFileSync(join(folders.evalDir, 'sets', 'one', 'val.txt'))).toEqual(b);
    expect(statSync(join(folders.evalDir, 'sets', 'one', 'val.txt')).mode & 0o777).toBe(0o644);
    // An endless source: cut off at the pinned size, before the disk fills.
    let sent = 0;
    async function* endless() {
      for (;;) {
        sent += 1024;
        yield Buffer.alloc(1024, 0x61);
      }
    }
    await expect(materializePack(join(dir, 'endless'), pack, async () => endless())).rejects.toThrow(/more than its pinned/);
    expect(sent).toBeLessThanOrEqual(1024);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
