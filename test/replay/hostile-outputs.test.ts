// What a job leaves in its work folder is hostile, and the trusted side reads it as root after the sandbox is gone.
// Through the whole path (intake, a real worker leasing over HTTP, the real sandbox, the harness, the verdict), each
// training below leaves something other than a model it trained: a link to a valid model of the host's (a secret, and
// the reference model in the worker's own checkout, reached through /proc/self/cwd), links into /proc that read
// gigabytes, block forever or fail, a FIFO, a folder. Each must end in one `rejected` verdict with nothing read from
// the host, the worker must stay healthy for the next job (an honest claim is verified after them all), and no job
// folder may be left behind, not even a 3000-deep chain of folders.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { runWorker } from '../../src/replay/worker.ts';
import { makeTestContext, OPERATOR_TOKEN } from '../helpers/context.ts';
import { newKey } from '../helpers/claims.ts';
import { serveApp } from '../helpers/http-server.ts';
import { hostScore, makeDigitsRepo } from '../helpers/digits-repo.ts';
import { ROOT } from '../helpers/processes.ts';
import { bundleWorkTree, initRepo } from './git-fixtures.ts';
import { describeSandbox } from './sandbox-gate.ts';
import { isHealthy, readClaim, registerReplayTask, submitReplayClaim, trustVerifier, type ClaimView } from './replay-http.ts';

const TRAIN = ['/usr/bin/python3', '/input/train.py', '--seed', '{seed}', '--out', '/work/model.json'];
const MiB = 1024 ** 2;

// Each training is one small Python program; the worker's checkout (its cwd) holds examples/digits/model.json, a
// valid model that scores 56: reading it through a link would verify a claim with no training at all.
const link = (target: string) => `import os\nos.symlink(${JSON.stringify(target)}, "/work/model.json")\n`;
const HOSTILE: Record<string, string> = {
  'host-secret': '', // filled in beforeAll: a link to a valid model in a host folder the job cannot see
  'reference-model': link('/proc/self/cwd/examples/digits/model.json'),
  pagemap: link('/proc/self/pagemap'),
  kmsg: link('/proc/kmsg'),
  mem: link('/proc/self/mem'),
  fifo: 'import os\nos.mkfifo("/work/model.json")\n',
  folder: 'import os\nos.mkdir("/work/model.json")\n',
  'escape-codes': 'import sys\nsys.stderr.write("\\x1b[2J\\x1b]0;pwned\\x07\\rverified \\u202e ok\\n")\nsys.exit(3)\n',
};

describeSandbox('hostile outputs left in the work folder', () => {
  let url = '';
  let closeServer: () => Promise<void> = async () => {};
  let closeContext: () => Promise<void> = async () => {};
  let root = '';
  let jobTmp = '';
  let savedTmpdir: string | undefined;
  const worker = newKey();
  const submitter = newKey();
  const claims: Record<string, string> = {};
  const workerLog: string[] = [];
  const cleanups: (() => void)[] = [];
  let honestScore = 0;

  beforeAll(async () => {
    const t = await makeTestContext('pglite');
    closeContext = t.close;
    const server = await serveApp(createApp(t.ctx, { log: (m, e) => console.error(m, e) }));
    url = server.url;
    closeServer = server.close;
    await registerReplayTask(url, OPERATOR_TOKEN, 'hostile-outputs', TRAIN, { wallTimeMs: 120_000, cpuSeconds: 120, memoryBytes: 256 * MiB });
    // A work folder of 8 MiB: the disk-filling job below writes 64 MiB into it.
    await registerReplayTask(url, OPERATOR_TOKEN, 'small-disk', TRAIN, { wallTimeMs: 120_000, cpuSeconds: 120, memoryBytes: 256 * MiB, diskBytes: 8 * MiB });
    await trustVerifier(url, OPERATOR_TOKEN, worker, ['hostile-outputs', 'small-disk']);

    root = mkdtempSync(join(tmpdir(), 'proofboard-hostile-outputs-'));
    await chmod(root, 0o711);
    // Job folders go here, so the test can tell that none is left behind (other suites run beside this one).
    jobTmp = join(root, 'jobs');
    mkdirSync(jobTmp);
    await chmod(jobTmp, 0o711);
    const secret = join(root, 'secret-model.json');
    writeFileSync(secret, readFileSync(join(ROOT, 'examples', 'digits', 'model.json')));
    HOSTILE['host-secret'] = link(secret);

    let n = 0;
    for (const [name, source] of Object.entries(HOSTILE)) {
      const repo = initRepo(join(root, `repo-${++n}`));
      writeFileSync(join(repo, 'train.py'), source);
      const { bundle, commit } = bundleWorkTree(repo, `${name}.bundle`);
      claims[name] = await submitReplayClaim(url, submitter, { task: 'hostile-outputs', commit, bundle: readFileSync(bundle), value: 56 });
    }
    {
      const repo = initRepo(join(root, 'repo-disk'));
      writeFileSync(join(repo, 'train.py'), 'block = b"x" * (1 << 20)\nfor i in range(64):\n    open(f"/work/fill-{i}", "wb").write(block)\n');
      const { bundle, commit } = bundleWorkTree(repo, 'disk.bundle');
      claims.disk = await submitReplayClaim(url, submitter, { task: 'small-disk', commit, bundle: readFileSync(bundle), value: 56 });
    }
    // Honest training that also leaves a 3000-deep chain of folders, one of them without permissions: the outcome,
    // already computed when the folder is removed, must survive the clean-up. Submitted last, so the worker that ran
    // every hostile job above runs it too.
    const honest = makeDigitsRepo((dir) => {
      const original = readFileSync(join(dir, 'train.py'), 'utf8');
      // Beside the model it wrote (/work in the sandbox; the test's folder when hostScore runs it on the host).
      const chain = [
        'import os as _os, sys as _sys',
        '_here = _os.path.dirname(_os.path.abspath(_sys.argv[_sys.argv.index("--out") + 1]))',
        '_os.makedirs(_os.path.join(_here, "deep"))',
        '_fd = _os.open(_os.path.join(_here, "deep"), _os.O_RDONLY)',
        'for _ in range(3000):',
        '    _os.mkdir("d", dir_fd=_fd)',
        '    _next = _os.open("d", _os.O_RDONLY, dir_fd=_fd)',
        '    _os.close(_fd)',
        '    _fd = _next',
        '_os.close(_fd)',
        '_os.makedirs(_os.path.join(_here, "locked", "inner"))',
        '_os.chmod(_os.path.join(_here, "locked"), 0)',
        '',
      ].join('\n');
      writeFileSync(join(dir, 'train.py'), `${original}\n${chain}`);
    });
    // (hostScore's run left the deep chain in the repo's folder too: Node's rmSync cannot remove it, GNU rm can.)
    cleanups.push(() => execFileSync('/usr/bin/rm', ['-rf', '--', honest.dir]));
    honestScore = hostScore(honest.dir);
    claims.honest = await submitReplayClaim(url, submitter, { task: 'hostile-outputs', commit: honest.commit, bundle: honest.bundle, value: honestScore });

    savedTmpdir = process.env.TMPDIR;
    process.env.TMPDIR = jobTmp;
    try {
      const { jobs } = await runWorker({ server: url, secretKey: worker.secretKey, once: true, log: (l) => workerLog.push(l) });
      expect(jobs, workerLog.join('\n')).toBe(Object.keys(claims).length);
    } finally {
      if (savedTmpdir === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmpdir;
    }
  }, 900_000);

  afterAll(async () => {
    await closeServer();
    await closeContext();
    for (const c of cleanups) c();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const claim = (name: string): Promise<ClaimView> => readClaim(url, claims[name]!);

  it.each([
    ['host-secret', /model\.json is a symbolic link/],
    ['reference-model', /model\.json is a symbolic link/],
    ['pagemap', /model\.json is a symbolic link/],
    ['kmsg', /model\.json is a symbolic link/],
    ['mem', /model\.json is a symbolic link/],
    ['fifo', /model\.json is not a regular file \(a FIFO\)/],
    ['folder', /model\.json is not a regular file \(a folder\)/],
  ])('ends %s in one rejected verdict without reading through it', async (name, why) => {
    const view = await claim(name);
    expect(view, workerLog.join('\n')).toMatchObject({ status: 'rejected', reasonCode: 'replay_harness_failed' });
    expect(view.verdict!.rule).toMatch(why);
    expect(view.history).toHaveLength(1);
    expect(view.replay).toEqual([expect.objectContaining({ state: 'done', attempts: 1 })]);
  });

  it('stores the escape codes a job printed inert, in the verdict and in the log', async () => {
    const view = await claim('escape-codes');
    expect(view).toMatchObject({ status: 'rejected', reasonCode: 'replay_training_failed' });
    expect(view.verdict!.rule).toContain('\\u001b[2J\\u001b]0;pwned\\u0007\\u000dverified \\u202e ok');
    expect(view.verdict!.rule).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    // The claim's bundle holds its verdicts and their log leaves, as a third party downloads them.
    const bundle: unknown = await (await fetch(new URL(`/v1/claims/${claims['escape-codes']}/bundle`, url))).json();
    const texts = stringsIn(bundle);
    expect(texts.some((s) => s.includes('pwned'))).toBe(true);
    // (Checkpoint notes carry newlines by their format; none of the job's escape, bell, carriage return or bidi override may appear.)
    expect(texts.filter((s) => /[\u001b\u0007\r\u202e]/.test(s))).toEqual([]);
  });

  it('stops a job that fills its work folder at the task\'s disk cap', async () => {
    const view = await claim('disk');
    expect(view, workerLog.join('\n')).toMatchObject({ status: 'rejected', reasonCode: 'replay_training_failed' });
    expect(view.verdict!.rule).toMatch(/work folder full \(disk\), exit 1; stderr tail: Traceback/);
    expect(view.history).toHaveLength(1);
  });

  it('keeps the worker healthy: the honest claim after them all is verified, its deep folder chain notwithstanding', async () => {
    expect(honestScore).toBeGreaterThan(0);
    const view = await claim('honest');
    expect(view, workerLog.join('\n')).toMatchObject({ status: 'verified', method: 'replayed' });
    expect(workerLog.join('\n')).not.toMatch(/could not be removed|worker error/);
  });

  it('leaves no job folder behind', () => {
    // (tsx keeps its compile cache in TMPDIR too: only the job folders matter here.)
    expect(readdirSync(jobTmp).filter((name) => name.startsWith('proofboard-job-'))).toEqual([]);
  });

  it('is still healthy and serving afterwards', async () => {
    expect(await isHealthy(url)).toBe(true);
  });
});

/** Every string anywhere in a JSON value (keys included). */
function stringsIn(value: unknown): string[] {
  const found: string[] = [];
  const stack = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === 'string') found.push(v);
    else if (Array.isArray(v)) stack.push(...v);
    else if (v && typeof v === 'object') for (const [k, inner] of Object.entries(v)) stack.push(k, inner);
  }
  return found;
}
