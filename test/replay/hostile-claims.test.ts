// Hostile claims through the whole path: intake, the queue, a real worker leasing over HTTP, the sandboxed
// checkout and training, the signed failure report and the verdict. A hostile bundle must end as
// `replay_bad_bundle`, a training command that misbehaves as `replay_training_failed` naming what killed it,
// and after all of it the service still answers.
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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
import { bundleTree, bundleWorkTree, initRepo, writeBlob, writeRawTree } from './git-fixtures.ts';
import { writeHugeBlobBundle } from './huge-bundle.ts';
import { describeSandbox } from './sandbox-gate.ts';
import { isHealthy, readClaim, registerReplayTask, submitReplayClaim, trustVerifier, type ClaimView } from './replay-http.ts';

const TRAIN = ['/usr/bin/python3', '/input/train.py', '--seed', '{seed}', '--out', '/work/model.json'];
const MiB = 1024 ** 2;

describeSandbox('hostile claims through the full replay path', () => {
  let url = '';
  let closeServer: () => Promise<void> = async () => {};
  let closeContext: () => Promise<void> = async () => {};
  let root = '';
  const worker = newKey();
  const submitters = [newKey(), newKey()];
  const cleanups: (() => void)[] = [];
  const claims: Record<string, string> = {};
  // What intake answered the huge bundle's claim (it throws on anything but 202).
  let hugeAtIntake = '';
  let filterRepoScore = 0;
  const workerLog: string[] = [];

  const bundleOf = (path: string) => readFileSync(path);

  beforeAll(async () => {
    const t = await makeTestContext('pglite');
    closeContext = t.close;
    const server = await serveApp(createApp(t.ctx, { log: (m, e) => console.error(m, e) }));
    url = server.url;
    closeServer = server.close;

    // Bundles are refused before training, so the generous default budget never comes into play.
    await registerReplayTask(url, OPERATOR_TOKEN, 'hostile-bundles', TRAIN);
    // A budget small enough that a runaway job ends quickly; CPU is generous so that the wall clock decides.
    await registerReplayTask(url, OPERATOR_TOKEN, 'runaway-training', TRAIN, { wallTimeMs: 4_000, cpuSeconds: 600, memoryBytes: 512 * MiB });
    // Room for Python to start and for 64 MiB of output to drain on a loaded machine: memory and output decide.
    await registerReplayTask(url, OPERATOR_TOKEN, 'greedy-training', TRAIN, { wallTimeMs: 300_000, cpuSeconds: 300, memoryBytes: 64 * MiB });
    await trustVerifier(url, OPERATOR_TOKEN, worker, ['hostile-bundles', 'runaway-training', 'greedy-training']);

    root = mkdtempSync(join(tmpdir(), 'proofboard-hostile-claims-'));
    await chmod(root, 0o711);
    let n = 0;
    const repo = () => initRepo(join(root, `repo-${++n}`));
    const submit = async (name: string, task: string, bundle: Buffer, commit: string, value = 1) => {
      claims[name] = await submitReplayClaim(url, submitters[Object.keys(claims).length % 2]!, { task, commit, bundle, value });
    };

    // A hook: the tree carries its own .git/hooks/post-checkout, which a naive checkout would install and run.
    {
      const r = repo();
      const hook = writeBlob(r, `#!/bin/sh\ntouch ${join(root, 'hook-ran')}\n`);
      const hooks = writeRawTree(r, [{ mode: '100755', name: 'post-checkout', oid: hook }]);
      const dotGit = writeRawTree(r, [{ mode: '40000', name: 'hooks', oid: hooks }]);
      const train = writeBlob(r, 'print(1)\n');
      const tree = writeRawTree(r, [
        { mode: '40000', name: '.git', oid: dotGit },
        { mode: '100644', name: 'train.py', oid: train },
      ]);
      const { bundle, commit } = bundleTree(r, tree, 'hook.bundle');
      await submit('hook', 'hostile-bundles', bundleOf(bundle), commit);
    }
    // A symlink to /etc/shadow, which the training (or the harness reading its output) would follow.
    {
      const r = repo();
      writeFileSync(join(r, 'train.py'), 'print(open("/input/data.csv").read())\n');
      symlinkSync('/etc/shadow', join(r, 'data.csv'));
      const { bundle, commit } = bundleWorkTree(r, 'shadow.bundle');
      await submit('shadow', 'hostile-bundles', bundleOf(bundle), commit);
    }
    // Path traversal: a tree entry named "..", twice, so that a checkout would write beside its own folder.
    {
      const r = repo();
      const payload = writeBlob(r, 'escaped\n');
      const inner = writeRawTree(r, [{ mode: '100644', name: 'escaped-by-traversal.txt', oid: payload }]);
      const upper = writeRawTree(r, [{ mode: '40000', name: '..', oid: inner }]);
      const tree = writeRawTree(r, [{ mode: '40000', name: '..', oid: upper }]);
      const { bundle, commit } = bundleTree(r, tree, 'traversal.bundle');
      await submit('traversal', 'hostile-bundles', bundleOf(bundle), commit);
    }
    // A 2 GiB object in a 2 MB bundle: intake's bundle reader refuses it from its header, never inflating it, so it
    // never reaches a worker (test/replay/git-checkout.test.ts shows the sandboxed checkout refuses it too).
    {
      const path = join(root, 'huge.bundle');
      const commit = await writeHugeBlobBundle(path);
      hugeAtIntake = await submit('huge', 'hostile-bundles', bundleOf(path), commit).then(
        () => 'accepted',
        (e: Error) => e.message,
      );
      rmSync(path);
    }
    // A filter, ident and CRLF conversion requested by .gitattributes: not refused, but never applied. The
    // training script checks its own bytes and writes an all-zero model if the checkout changed them, so the
    // honest score is reached only through a faithful checkout.
    {
      const digits = makeDigitsRepo((dir) => {
        writeFileSync(join(dir, '.gitattributes'), '*.py filter=evil ident text eol=crlf\n');
        const original = readFileSync(join(dir, 'train.py'), 'utf8');
        const guard = [
          '# $Id$',
          'import sys as _sys',
          '_src = open(__file__, "rb").read()',
          'if b"\\r\\n" in _src or (b"$" + b"Id:") in _src:',
          '    import json as _json',
          '    _out = _sys.argv[_sys.argv.index("--out") + 1]',
          '    _json.dump({"format": "proofboard.digits-mlp.v1", "W1": [[0]*16]*8, "B1": [0]*8, "W2": [[0]*8]*10, "B2": [0]*10}, open(_out, "w"))',
          '    _sys.exit(0)',
          '',
        ].join('\n');
        writeFileSync(join(dir, 'train.py'), original.replace(/^import argparse$/m, `${guard}import argparse`));
      });
      cleanups.push(digits.cleanup);
      filterRepoScore = hostScore(digits.dir);
      await submit('filter', 'hostile-bundles', digits.bundle, digits.commit, filterRepoScore);
    }
    // Training commands that escape nothing but misbehave.
    const misbehaving: [string, string, string][] = [
      ['fork-bomb', 'runaway-training', 'import os, time\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        time.sleep(1)\n'],
      ['spin', 'runaway-training', 'while True:\n    pass\n'],
      ['print-1gb', 'greedy-training', 'import sys\nblock = b"x" * (1 << 20)\nfor _ in range(1024):\n    sys.stdout.buffer.write(block)\n'],
      ['memory-10x', 'greedy-training', 'chunks = []\nfor _ in range(64):\n    chunks.append(bytearray(10 << 20))\n'],
    ];
    for (const [name, task, source] of misbehaving) {
      const r = repo();
      writeFileSync(join(r, 'train.py'), source);
      const { bundle, commit } = bundleWorkTree(r, `${name}.bundle`);
      await submit(name, task, bundleOf(bundle), commit);
    }

    const { jobs } = await runWorker({ server: url, secretKey: worker.secretKey, once: true, log: (l) => workerLog.push(l) });
    expect(jobs, workerLog.join('\n')).toBe(Object.keys(claims).length);
  }, 900_000);

  afterAll(async () => {
    await closeServer();
    await closeContext();
    for (const c of cleanups) c();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const claim = (name: string): Promise<ClaimView> => readClaim(url, claims[name]!);

  it('refuses the huge bundle at intake (422 bundle_over_limits): no replay is queued for it', () => {
    expect(hugeAtIntake).toMatch(/HTTP 422: .*bundle_over_limits/);
    expect(claims.huge).toBeUndefined();
  });

  it.each(['hook', 'shadow', 'traversal'])('rejects the %s bundle as replay_bad_bundle', async (name) => {
    const view = await claim(name);
    expect(view, workerLog.join('\n')).toMatchObject({ status: 'rejected', reasonCode: 'replay_bad_bundle' });
    expect(view.history).toHaveLength(1);
    expect(view.replay).toEqual([expect.objectContaining({ state: 'done', attempts: 1 })]);
  });

  it('names why each bundle was refused', async () => {
    expect((await claim('hook')).verdict!.rule).toMatch(/bad_bundle: path_unsafe/);
    expect((await claim('shadow')).verdict!.rule).toMatch(/bad_bundle: symlink_escapes/);
    expect((await claim('traversal')).verdict!.rule).toMatch(/bad_bundle: path_unsafe/);
  });

  it('ran nothing of the bundles on the host and wrote nothing beside the checkout', () => {
    expect(existsSync(join(root, 'hook-ran'))).toBe(false);
    expect(existsSync(join(tmpdir(), 'escaped-by-traversal.txt'))).toBe(false);
    expect(existsSync('/escaped-by-traversal.txt')).toBe(false);
  });

  it('checks out a bundle that asks for filters byte for byte and scores it honestly', async () => {
    expect(filterRepoScore).toBeGreaterThan(0);
    expect(await claim('filter'), workerLog.join('\n')).toMatchObject({ status: 'verified', method: 'replayed' });
  });

  it.each([
    ['fork-bomb', 'wall_time'],
    ['spin', 'wall_time'],
    ['print-1gb', 'output'],
    ['memory-10x', 'memory'],
  ])('rejects %s as replay_training_failed, killed for %s', async (name, reason) => {
    const view = await claim(name);
    expect(view, workerLog.join('\n')).toMatchObject({ status: 'rejected', reasonCode: 'replay_training_failed' });
    expect(view.verdict!.rule).toContain(`killed (${reason})`);
    expect(view.history).toHaveLength(1);
  });

  it('is still healthy and serving afterwards', async () => {
    expect(await isHealthy(url)).toBe(true);
    const tasks = await fetch(new URL('/v1/tasks', url));
    expect(tasks.status).toBe(200);
  });
});
