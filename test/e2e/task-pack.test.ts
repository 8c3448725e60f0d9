// Task packs through the real CLI against the app served over real HTTP, on both databases: `proofboard admin task
// add DIR` registers a pack (its evaluation data hidden from the public blob route, its definition a log leaf); a
// pack with ten mistakes is refused with ten reasons and nothing is uploaded; the server refuses a pack whose files
// it does not hold, naming each.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/api/app.ts';
import { taskDefinitionDigestOf, toTaskPack, type SubmissionContract, type TaskPack } from '../../src/attest/task-pack.ts';
import { circuitArtifacts, DIGITS_CIRCUIT_ID, DIGITS_EVAL_CSV, DIGITS_VKEY_SHA256, loadExampleTask } from '../../src/zk/example-task.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { makeTestContext, OPERATOR_TOKEN } from '../helpers/context.ts';
import { serveApp } from '../helpers/http-server.ts';
import { cli } from '../helpers/processes.ts';

// Each CLI call starts node and tsx: seconds on a loaded 2-core machine.
const CLI_TIMEOUT_MS = 180_000;
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

const SCORE_PY = 'import json\nprint(json.dumps({"metric": 1.0}))\n';
const VAL_TXT = 'held-out text the training never sees\n';
const TRAIN_TXT = 'training text\n';
const BAD_SCORE_PY = `${SCORE_PY}# only in the pack with mistakes\n`;

function goodTask(id: string) {
  return {
    id,
    title: 'A small pack',
    metricName: 'val_bpb',
    direction: 'lower',
    policy: { quorum: 1, direction: 'lower', tolerance: { absolute: 0.02 }, runs: 2, seeds: [1, 2] },
    replay: {
      train: ['/usr/bin/python3', '/input/train.py', '--seed', '{seed}', '--out', '/work/model.pt'],
      outputs: [{ path: 'model.pt', maxBytes: 1_000_000 }],
      limits: { wallTimeMs: 60_000 },
      harness: { command: ['/usr/bin/python3', '/harness/score.py'], limits: { wallTimeMs: 30_000 } },
      gpus: 0,
    },
  };
}

function writePack(task: object, files: { harness?: Record<string, string>; eval?: Record<string, string>; data?: Record<string, string> }) {
  const dir = mkdtempSync(join(tmpdir(), 'proofboard-pack-'));
  writeFileSync(join(dir, 'task.json'), JSON.stringify(task, null, 2));
  for (const part of ['harness', 'eval', 'data'] as const) {
    mkdirSync(join(dir, part));
    for (const [name, text] of Object.entries(files[part] ?? {})) writeFileSync(join(dir, part, name), text);
  }
  return dir;
}

describe.each(databaseKinds())('task packs through the CLI and the API on %s', (kind) => {
  let server: { url: string; close: () => Promise<void> };
  let close: () => Promise<void> = async () => {};
  const dirs: string[] = [];
  const admin = (...args: string[]) => cli(['admin', ...args, '--server', server.url], { env: { PROOFBOARD_OPERATOR_TOKEN: OPERATOR_TOKEN } });
  const get = (path: string) => fetch(`${server.url}${path}`);

  beforeAll(async () => {
    const t = await makeTestContext(kind);
    close = t.close;
    server = await serveApp(createApp(t.ctx, { log: (m, e) => console.error(m, e) }));
  });
  afterAll(async () => {
    await server?.close();
    await close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it(
    'registers a pack: files stored by digest, evaluation data hidden, the definition a log leaf',
    async () => {
      const dir = writePack(goodTask('pack-ok'), { harness: { 'score.py': SCORE_PY }, eval: { 'val.txt': VAL_TXT }, data: { 'train.txt': TRAIN_TXT } });
      dirs.push(dir);
      const added = await admin('task', 'add', dir, '--json');
      expect(added.code, added.stderr).toBe(0);
      const body = JSON.parse(added.stdout) as { id: string; definitionLogIndex: number };
      expect(body.id).toBe('pack-ok');

      const task = (await (await get('/v1/tasks/pack-ok')).json()) as { pack: TaskPack; definitionLogIndex: number };
      const expected = toTaskPack({
        harness: { command: ['/usr/bin/python3', '/harness/score.py'], files: [{ path: 'score.py', sha256: sha(SCORE_PY), bytes: SCORE_PY.length }], limits: { wallTimeMs: 30_000 } },
        evalData: { files: [{ path: 'val.txt', sha256: sha(VAL_TXT), bytes: VAL_TXT.length }] },
        trainData: { files: [{ path: 'train.txt', sha256: sha(TRAIN_TXT), bytes: TRAIN_TXT.length }] },
      });
      expect(task.pack).toEqual(expected);

      // The harness and the training data are public; the evaluation data is not.
      expect((await get(`/v1/blobs/sha256:${sha(SCORE_PY)}`)).status).toBe(200);
      expect(await (await get(`/v1/blobs/sha256:${sha(TRAIN_TXT)}`)).text()).toBe(TRAIN_TXT);
      const hidden = await get(`/v1/blobs/sha256:${sha(VAL_TXT)}`);
      expect(hidden.status).toBe(404);
      expect(await hidden.text()).not.toContain('held-out');

      // The leaf at definitionLogIndex holds the definition with every pin, and its digest recomputes.
      const i = task.definitionLogIndex;
      expect(i).toBe(body.definitionLogIndex);
      const entries = (await (await get(`/v1/log/entries?start=${i}&end=${i + 1}`)).json()) as { entries: { data: string }[] };
      const leaf = JSON.parse(entries.entries[0]!.data) as { kind: string; task: string; definitionSha256: string; definition: Parameters<typeof taskDefinitionDigestOf>[0] };
      expect(leaf).toMatchObject({ kind: 'task-definition', task: 'pack-ok' });
      expect(leaf.definition.pack).toEqual(expected);
      expect(taskDefinitionDigestOf(leaf.definition)).toBe(leaf.definitionSha256);

      // The submission contract, in the API and on the task page: what the commit must hold and how it is run.
      const { contract } = (await (await get('/v1/tasks/pack-ok')).json()) as { contract: SubmissionContract };
      expect(contract).toMatchObject({
        commitMustContain: ['train.py'],
        train: { command: goodTask('x').replay.train, seeds: [1, 2], runs: 2 },
        outputs: [{ path: 'model.pt', maxBytes: 1_000_000 }],
        budgets: { train: { wallTimeMs: 60_000 }, harness: { wallTimeMs: 30_000 }, gpus: 0 },
        harness: { command: ['/usr/bin/python3', '/harness/score.py'], sha256: expected.harnessSha256 },
        trainData: expected.trainData.files,
        evalData: { sha256: expected.evalDataSha256, files: 1 },
        metric: { name: 'val_bpb', direction: 'lower', quorum: 1 },
      });
      const page = await (await get('/tasks/pack-ok')).text();
      expect(page).toContain('How to submit');
      expect(page).toContain('/usr/bin/python3 /input/train.py --seed {seed} --out /work/model.pt');
      expect(page).toContain(`sha256:${expected.evalDataSha256}`);
      expect(page).not.toContain('held-out');
    },
    CLI_TIMEOUT_MS,
  );

  it(
    'registers a pack with its circuit (circuit/): the build files stored by digest, the circuit listed with the task',
    async () => {
      const dir = writePack(goodTask('pack-zk'), { harness: { 'score.py': SCORE_PY }, eval: { 'val.txt': VAL_TXT } });
      dirs.push(dir);
      const art = circuitArtifacts(DIGITS_CIRCUIT_ID);
      mkdirSync(join(dir, 'circuit'));
      copyFileSync(art.vkey, join(dir, 'circuit', 'verification_key.json'));
      copyFileSync(art.wasm, join(dir, 'circuit', 'digits.wasm'));
      copyFileSync(art.zkey, join(dir, 'circuit', 'digits.zkey'));
      copyFileSync(DIGITS_EVAL_CSV, join(dir, 'circuit', 'eval.csv'));
      const zk = await loadExampleTask();
      writeFileSync(join(dir, 'circuit', 'params.json'), JSON.stringify({ id: 'pack-zk-groth16', evalSetCommitment: zk.evalSetCommitment, shardCommitments: zk.shardCommitments }));
      const added = await admin('task', 'add', dir);
      expect(added.code, added.stderr).toBe(0);
      expect(added.stdout).toContain('circuit pack-zk-groth16 registered');
      const task = (await (await get('/v1/tasks/pack-zk')).json()) as { circuits: { id: string; vkeySha256: string; build: { zkey: { sha256: string } } }[] };
      expect(task.circuits).toHaveLength(1);
      expect(task.circuits[0]).toMatchObject({ id: 'pack-zk-groth16', vkeySha256: DIGITS_VKEY_SHA256 });
      const zkey = await get(`/v1/blobs/sha256:${task.circuits[0]!.build.zkey.sha256}`);
      expect(zkey.status).toBe(200);
      expect(Buffer.from(await zkey.arrayBuffer()).equals(readFileSync(art.zkey))).toBe(true);
    },
    CLI_TIMEOUT_MS,
  );

  it(
    'a task pack with ten mistakes is refused with ten reasons, and nothing is uploaded',
    async () => {
      const task = goodTask('pack-bad') as ReturnType<typeof goodTask> & Record<string, unknown>;
      task.direction = 'higher'; // 1: policy.direction differs
      task.policy = { ...task.policy, quorum: 0, runs: 3 }; // 2: quorum below 1; 3: three runs, two seeds
      task.replay = {
        ...task.replay,
        train: ['/usr/bin/python3', '/input/train.py'], // 4: no {seed}
        gpus: 99, // 5: more GPUs than any verifier has
        limits: { wallTimeMs: 10 }, // 6: limit out of range
        outputs: [
          { path: 'model.pt', maxBytes: 10 },
          { path: 'model.pt', maxBytes: 20 }, // 7: output named twice
        ],
        harness: { command: ['/usr/bin/python3', '/harness/missing.py'], limits: { wallTimeMs: 30_000 } }, // 8: not a harness file
      };
      const dir = writePack(task, { harness: { 'score.py': BAD_SCORE_PY }, data: { 'train.txt': TRAIN_TXT } }); // 9: eval/ empty
      dirs.push(dir);
      symlinkSync('/etc/passwd', join(dir, 'harness', 'link.py')); // 10: a link out of the pack

      const refused = await admin('task', 'add', dir);
      expect(refused.code, refused.stdout).toBe(2);
      expect(refused.stderr).toContain('has 10 problem(s); nothing was uploaded');
      const reasons = refused.stderr.split('\n').filter((l) => l.startsWith('  '));
      expect(reasons, refused.stderr).toHaveLength(10);
      for (const field of [
        'policy.direction',
        'policy.quorum',
        'policy.seeds',
        'replay.train',
        'replay.gpus',
        'replay.limits.wallTimeMs',
        'replay.outputs',
        'replay.harness.command',
        'eval/',
        'harness/link.py',
      ]) {
        expect(reasons.filter((r) => r.startsWith(`  ${field}: `)), `${field} in\n${refused.stderr}`).toHaveLength(1);
      }
      expect((await get('/v1/tasks/pack-bad')).status).toBe(404);
      expect((await get(`/v1/blobs/sha256:${sha(BAD_SCORE_PY)}`)).status).toBe(422);
      const json = await admin('task', 'add', dir, '--json');
      expect(json.code).toBe(2);
      expect((JSON.parse(json.stdout) as { problems: unknown[] }).problems).toHaveLength(10);
    },
    CLI_TIMEOUT_MS,
  );

  it('the server refuses a pack whose files it does not hold, naming each, and stores nothing', async () => {
    const auth = { authorization: `Bearer ${OPERATOR_TOKEN}`, 'content-type': 'application/json' };
    const publicEval = 'evaluation data uploaded through the public route\n';
    expect((await fetch(`${server.url}/v1/blobs/sha256:${sha(publicEval)}`, { method: 'PUT', body: publicEval })).status).toBe(201);
    // Stored (here, or by the first test's pack), but with another size than this pack states for it.
    expect((await fetch(`${server.url}/v1/blobs/sha256:${sha(SCORE_PY)}`, { method: 'PUT', body: SCORE_PY })).status).toBeLessThan(300);
    const pack = toTaskPack({
      harness: { command: ['/usr/bin/python3', '/harness/score.py'], files: [{ path: 'score.py', sha256: sha('never uploaded'), bytes: 14 }], limits: {} },
      evalData: { files: [{ path: 'val.txt', sha256: sha(publicEval), bytes: publicEval.length }, { path: 'b.txt', sha256: sha(SCORE_PY), bytes: 3 }] },
      trainData: { files: [] },
    });
    const task = goodTask('pack-missing');
    const replay = { ...task.replay, harness: { command: pack.harness.command, limits: {} } };
    const res = await fetch(`${server.url}/v1/tasks`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ ...task, replay, pack }),
    });
    const body = (await res.json()) as { error: { code: string; details: { problems: { path: string; message: string }[] } } };
    expect(res.status, JSON.stringify(body)).toBe(422);
    expect(body.error.code).toBe('bad_task');
    const problems = body.error.details.problems;
    expect(problems).toHaveLength(3);
    expect(problems.find((p) => p.path === 'pack.harness.files.0')?.message).toContain('is not uploaded');
    expect(problems.find((p) => p.message.startsWith('val.txt'))?.message).toContain('must be uploaded hidden');
    expect(problems.find((p) => p.message.startsWith('b.txt'))?.message).toContain(`has ${SCORE_PY.length} bytes, the pack says 3`);
    expect((await get('/v1/tasks/pack-missing')).status).toBe(404);

    // A malformed definition is a 400 with every problem listed, before any file is looked up.
    const malformed = await fetch(`${server.url}/v1/tasks`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ ...task, direction: 'higher', policy: { ...task.policy, quorum: 0 }, replay: { ...replay, gpus: -1 }, pack }),
    });
    const refused = (await malformed.json()) as typeof body;
    expect(malformed.status, JSON.stringify(refused)).toBe(400);
    expect(refused.error.code).toBe('bad_request');
    expect(refused.error.details.problems.map((p) => p.path).sort()).toEqual(['policy.direction', 'policy.quorum', 'replay.gpus']);

    // Hidden uploads are the operator's: without the token nothing is stored or hidden.
    const denied = await fetch(`${server.url}/v1/blobs/hidden/sha256:${sha('x')}`, { method: 'PUT', body: 'x' });
    expect(denied.status).toBe(401);
    expect((await get(`/v1/blobs/sha256:${sha('x')}`)).status).not.toBe(200);
  });
});
