// The autoresearch-shaped example end to end, on both databases: an operator registers examples/gpt-char with the real
// CLI (`proofboard admin task add`), and a real worker replays claims in the real sandbox over real HTTP, in two stages
// (training without the hidden text, then the pack's harness with it):
// - a parent claim is replayed (three seeds) and verified;
// - a child that trains longer beats it: verified, its verdict naming the one-sided Welch t-test and its p-value;
// - a claim that overstates what its commit trains to is rejected;
// - a training script that hunts for the hidden evaluation text everywhere it can reach finds nothing.
// The commits are the pack's own commit/train.py with fewer steps, so a replay takes seconds of CPU, not minutes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { claimIdOf, signClaim } from '../../src/attest/claim.ts';
import { mineStamp } from '../../src/attest/stamp.ts';
import { runWorker } from '../../src/replay/worker.ts';
import { logOrigin, newKey, sha256Hex, withIntake, type TestKey } from '../helpers/claims.ts';
import { makeTestContext, OPERATOR_TOKEN } from '../helpers/context.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { serveApp } from '../helpers/http-server.ts';
import { cli, ROOT } from '../helpers/processes.ts';
import { describeSandbox } from '../replay/sandbox-gate.ts';
import { readClaim, trustVerifier, waitFor, type ClaimView } from '../replay/replay-http.ts';

const PACK = join(ROOT, 'examples', 'gpt-char');
const TASK = 'gpt-char';
const SAMPLE = readFileSync(join(PACK, 'commit', 'train.py'), 'utf8');
const withSteps = (steps: number) => {
  expect(SAMPLE).toContain('STEPS = 300\n');
  return SAMPLE.replace('STEPS = 300\n', `STEPS = ${steps}\n`);
};
// A line of the hidden text that the training text does not contain (so finding it means reaching the hidden file).
const TRAIN_TEXT = readFileSync(join(PACK, 'data', 'train.txt'), 'utf8');
const HIDDEN_LINE = readFileSync(join(PACK, 'eval', 'valid.txt'), 'utf8').split('\n').find((l) => l.length > 60 && !TRAIN_TEXT.includes(l))!;

// Looks for a line of the hidden text (carried hex-encoded, so its own source at /input does not contain it) in every
// regular file it can reach (the usual places, ../, /proc/1/root, a walk of
// the whole sandbox but the read-only system), then fails on purpose with a one-line verdict: FOUND names where, CLEAN
// how many files it read. Regular files only: a pipe (/dev/stdout) would block it.
const PROBE = (needle: string) => String.raw`
import os, stat, sys
NEEDLE = bytes.fromhex(${JSON.stringify(Buffer.from(needle).toString('hex'))})
found, checked = [], 0
def look(path):
    global checked
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return
        with open(path, "rb") as f:
            data = f.read(1 << 22)
        checked += 1
        if NEEDLE in data:
            found.append(path)
    except Exception:
        pass
for path in ["/eval/valid.txt", "/output/model.safetensors", "/harness/evaluate.py", "../eval/valid.txt",
             "/input/../eval/valid.txt", "/data/../eval/valid.txt", "/proc/1/root/eval/valid.txt",
             "/proc/self/root/eval/valid.txt", "/proc/1/environ", "/proc/self/environ", "/proc/self/mountinfo"]:
    look(path)
PRUNE = {p + q for p in ("", "/proc/1/root") for q in ("/usr", "/proc", "/sys", "/dev")}
for top in ["/", "/proc/1/root", "/tmp", "/dev/shm", "/data", "/input", "/work"]:
    for dirpath, dirs, files in os.walk(top, followlinks=False):
        dirs[:] = [d for d in dirs if os.path.join(dirpath, d) not in PRUNE]
        for name in files:
            look(os.path.join(dirpath, name))
sys.stderr.write(("PROBE-FOUND " + " ".join(found)) if found else "PROBE-CLEAN checked=%d" % checked)
sys.exit(3)
`;

describeSandbox('the gpt-char task pack end to end', () => {
  describe.each(databaseKinds())('on %s', (kind) => {
    let url = '';
    let closeServer: () => Promise<void> = async () => {};
    let closeContext: () => Promise<void> = async () => {};
    let root = '';
    let repo = '';
    const submitter = newKey();
    const verifier = newKey();
    const stop = new AbortController();
    let worker: Promise<unknown> = Promise.resolve();
    const workerLog: string[] = [];
    let savedTmpdir: string | undefined;

    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=Agent', '-c', 'user.email=agent@example.invalid', ...args], { cwd: repo, encoding: 'utf8' }).trim();
    /** Commits train.py on top of HEAD and bundles the history up to it (a child's bundle carries its parent). */
    const commit = (source: string, name: string) => {
      writeFileSync(join(repo, 'train.py'), source);
      git('add', 'train.py');
      git('commit', '--quiet', '--allow-empty', '-m', name);
      const sha = git('rev-parse', 'HEAD');
      const path = join(root, `${name}.bundle`);
      git('bundle', 'create', '--quiet', path, 'HEAD');
      return { commit: sha, bundle: readFileSync(path) };
    };

    async function submit(key: TestKey, c: { commit: string; bundle: Buffer }, value: number, parent: string | null = null) {
      const digest = sha256Hex(c.bundle);
      const put = await fetch(`${url}/v1/blobs/sha256:${digest}`, { method: 'PUT', body: c.bundle as unknown as BodyInit, headers: { connection: 'close' } });
      expect([200, 201]).toContain(put.status);
      const envelope = signClaim(
        {
          v: 1,
          task: TASK,
          commit: c.commit,
          parent,
          beatsParent: parent !== null,
          metric: { name: 'bits_per_byte', value },
          submitter: key.hex,
          createdAt: new Date().toISOString(),
          bundle: `sha256:${digest}`,
        },
        key.secretKey,
      );
      const task = (await (await fetch(`${url}/v1/tasks/${TASK}`)).json()) as { stamp: { bits: number } };
      const id = claimIdOf(Buffer.from(envelope.payload, 'base64'));
      const body = withIntake({ claim: envelope, evidence: [], stamp: mineStamp(id, task.stamp.bits).stamp }, key, await logOrigin(url));
      const res = await fetch(`${url}/v1/claims`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', connection: 'close' } });
      expect(res.status, await res.clone().text()).toBe(202);
      return id;
    }

    const settled = (id: string) => waitFor(`claim ${id}`, () => readClaim(url, id), (c: ClaimView) => c.status === 'verified' || c.status === 'rejected', 1000);

    beforeAll(async () => {
      const t = await makeTestContext(kind);
      closeContext = t.close;
      const server = await serveApp(createApp(t.ctx, { log: (m, e) => console.error(m, e) }));
      url = server.url;
      closeServer = server.close;
      root = mkdtempSync(join(tmpdir(), 'proofboard-gpt-pack-'));
      await chmod(root, 0o711);
      repo = join(root, 'repo');
      execFileSync('git', ['init', '--quiet', repo]);

      // The operator registers the pack folder exactly as committed, from the CLI.
      const added = await cli(['admin', 'task', 'add', PACK, '--server', url, '--json'], { env: { PROOFBOARD_OPERATOR_TOKEN: OPERATOR_TOKEN } });
      expect(added.code, added.stderr).toBe(0);
      await trustVerifier(url, OPERATOR_TOKEN, verifier, [TASK]);
      // Job folders under a folder of the test's (other suites run beside this one).
      savedTmpdir = process.env.TMPDIR;
      process.env.TMPDIR = root;
      // A machine that only replays (MachineConfig.cpu): its jobs take a plain CPU share instead of idling behind every
      // other process, which on a shared 2-core machine would starve the training for many minutes.
      worker = runWorker({
        server: url,
        secretKey: verifier.secretKey,
        tasks: [TASK],
        pollMs: 500,
        machine: { cpu: { idle: false, shares: 1024 } },
        signal: stop.signal,
        log: (l) => workerLog.push(l),
      });
    }, 300_000);

    afterAll(async () => {
      stop.abort();
      await worker.catch(() => undefined);
      if (savedTmpdir === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmpdir;
      await closeServer();
      await closeContext();
      if (root) rmSync(root, { recursive: true, force: true });
    });

    let parent = { commit: '', bundle: Buffer.alloc(0) };

    it('verifies a parent claim by replaying its three seeds in two stages', async () => {
      parent = commit(withSteps(15), 'parent');
      // A generous claim: the claim says "reaches 7.0 or better", and the three replays measure about 5.
      const id = await submit(submitter, parent, 7.0);
      const claim = await settled(id);
      expect(claim, workerLog.join('\n')).toMatchObject({ status: 'verified', method: 'replayed' });
      expect(workerLog.join('\n')).toMatch(/measured \d\.\d+, \d\.\d+, \d\.\d+ \(claimed 7\)/);
    }, 900_000);

    it('verifies a child that beats its parent, with the one-sided test and its p-value', async () => {
      const child = commit(withSteps(60), 'child');
      const id = await submit(submitter, child, 6.0, parent.commit);
      const claim = await settled(id);
      expect(claim, workerLog.join('\n')).toMatchObject({ status: 'verified', method: 'replayed' });
      const rule = claim.verdict!.rule;
      const p = /beats parent by one-sided welch-t t=\S+ df=\S+ p=(\S+) < alpha 0\.05 \(n=3 vs 3\)/.exec(rule);
      expect(p, rule).not.toBeNull();
      expect(Number(p![1])).toBeLessThan(0.05);
      console.info(`[gpt-pack-flow on ${kind}] child: ${rule}`);
    }, 900_000);

    it('rejects a claim that overstates what its commit trains to', async () => {
      const overstated = commit(`${withSteps(15)}# the same training, a better number claimed\n`, 'overstated');
      const id = await submit(submitter, overstated, 2.0);
      const claim = await settled(id);
      expect(claim, workerLog.join('\n')).toMatchObject({ status: 'rejected', reasonCode: 'replay_contradicts' });
    }, 900_000);

    it('a training script that hunts for the hidden evaluation text finds nothing', async () => {
      const probe = commit(PROBE(HIDDEN_LINE), 'probe');
      const id = await submit(submitter, probe, 1.0);
      const claim = await settled(id);
      expect(claim.status).toBe('rejected');
      const rule = claim.verdict!.rule;
      expect(rule).not.toContain('PROBE-FOUND');
      const checked = /PROBE-CLEAN checked=(\d+)/.exec(rule);
      expect(checked, rule).not.toBeNull();
      // It did look: the training data, its own tree and the system files it could reach.
      expect(Number(checked![1])).toBeGreaterThan(3);
    }, 900_000);
  });
});

