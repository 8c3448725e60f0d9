// `proofboard mirror` against a real server (issue 19): the copy is accepted only after recheck passes on it; with
// the origin stopped, `proofboard recheck --task` passes against the mirror; an origin whose log entry was edited
// behind its back is refused, and the mirror keeps the last copy it accepted.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../helpers/databases.ts';
import { BIN, cli, ROOT, startServer } from '../helpers/processes.ts';
import { keyFrom, randomCommit, registerVerifier, startTamperableServer, submitAttested, TASK, type TamperableServer } from './recheck-helpers.ts';
import { createHash } from 'node:crypto';
import { exampleTask } from '../../src/service/example-task.ts';

type Check = { id: string; status: string; detail: string };
type Report = { ok: boolean; log: Check[]; claims: { claimId: string; ok: boolean; checks: Check[] }[] };

async function startMirror(args: string[]): Promise<{ url: string; child: ChildProcess; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [BIN, 'mirror', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const m = /serving (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`mirror exited with ${code}:\n${out}`)));
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    url,
    child,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

describe.each(databaseKinds())('a mirror outlives its origin on %s', (kind) => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  let s: TamperableServer;
  let dataDir: string;
  const claims: string[] = [];

  beforeAll(async () => {
    ({ s, dataDir } = await startTamperableServer(kind, cleanups, 'proofboard-mirror-'));
    const [alice, bob] = [keyFrom('alice'), keyFrom('bob')];
    await registerVerifier(s.url, 'alice', alice);
    await registerVerifier(s.url, 'bob', bob);
    for (const value of [90, 91]) claims.push((await submitAttested(s.url, keyFrom('submitter'), randomCommit(), value, [alice, bob])).id);
  }, 180_000);
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('copies and re-checks the board; with the origin stopped, recheck --task passes against the mirror', async () => {
    const dir = join(dataDir, 'mirror');
    const once = await cli(['mirror', '--from', s.url, '--dir', dir, '--log-key', s.logKey, '--once']);
    expect(once.code, once.stderr + once.stdout).toBe(0);
    // Three entries: the example task's definition, then the two claims' verdicts. Five blobs: the two git bundles and
    // the example pack's three public files (harness, training and evaluation data), for recheck --replay.
    expect(once.stdout).toMatch(/copied .*log size 3, 2 claims, 2 re-checked, 5 blobs/);

    await s.stop();
    const mirror = await startMirror(['--from', s.url, '--dir', dir, '--log-key', s.logKey, '--listen', '127.0.0.1:0']);
    cleanups.push(mirror.stop);
    const r = await cli(['recheck', '--task', TASK, '--server', mirror.url, '--state', join(dataDir, 'reader.json'), '--log-key', s.logKey, '--json']);
    const report = JSON.parse(r.stdout || '{}') as Report;
    expect(r.code, JSON.stringify(report, null, 1)).toBe(0);
    expect(report.claims.map((c) => c.claimId).sort()).toEqual([...claims].sort());
    // The read side: the page, a bundle's git bundle byte for byte, and no writes.
    expect(await (await fetch(`${mirror.url}/`)).text()).toContain(TASK);
    expect(await (await fetch(`${mirror.url}/tasks/${TASK}`)).text()).toContain(`/claims/${claims[0]}`);
    expect(await (await fetch(`${mirror.url}/claims/${claims[0]}`)).text()).toMatch(/verified/);
    const bundle = (await (await fetch(`${mirror.url}/v1/claims/${claims[0]}/bundle`)).json()) as { envelope: { payload: string } };
    const ref = (JSON.parse(Buffer.from(bundle.envelope.payload, 'base64').toString()) as { bundle: string }).bundle;
    const blob = await fetch(`${mirror.url}/v1/blobs/${ref}`);
    expect(blob.status).toBe(200);
    const harness = exampleTask.pack!.harness.files[0]!;
    const served = await fetch(`${mirror.url}/v1/blobs/sha256:${harness.sha256}`);
    expect(served.status).toBe(200);
    expect(createHash('sha256').update(Buffer.from(await served.arrayBuffer())).digest('hex')).toBe(harness.sha256);
    expect((await fetch(`${mirror.url}/v1/claims`, { method: 'POST', body: '{}' })).status).toBe(405);
    await mirror.stop();
    s.server = await startServer(s.env);
  }, 240_000);

  it('refuses an origin whose log entry was edited, and keeps the copy it accepted', async () => {
    const dir = join(dataDir, 'mirror');
    const before = readFileSync(join(dir, 'snapshot.json'), 'utf8');
    await s.edit(async (sql) => {
      // The stored leaf is changed, not its hash or the tree: the entries served no longer rebuild the signed root.
      await sql(`update log_leaves set data = replace(data, '"value":90', '"value":99') where data like '%"value":90%'`);
    });
    const again = await cli(['mirror', '--from', s.url, '--dir', dir, '--log-key', s.logKey, '--once']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/REFUSED/);
    expect(again.stderr).toMatch(/log\.entries/);
    expect(readFileSync(join(dir, 'snapshot.json'), 'utf8')).toBe(before);
    // A first copy from the tampered origin is refused as well, and nothing is kept.
    const fresh = await cli(['mirror', '--from', s.url, '--dir', join(dataDir, 'mirror-fresh'), '--log-key', s.logKey, '--once']);
    expect(fresh.code).toBe(1);
    expect(() => readFileSync(join(dataDir, 'mirror-fresh', 'snapshot.json'))).toThrow();
  }, 240_000);
});
