// End to end: the real server process, the real CLI (keygen, submit from a temporary git repo), the API read
// back, on both databases; and claims surviving a restart on PGlite's on-disk folder.
import { afterAll, describe, expect, it } from 'vitest';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { databaseKinds } from '../helpers/databases.ts';
import { cli, makeGitRepo, serverEnv, startServer, type ServerProcess } from '../helpers/processes.ts';

describe.each(databaseKinds())('submit flow through the real server and CLI on %s', (kind) => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('keygen, submit a commit, read the claim back; survives a restart', async () => {
    const env = await serverEnv(kind, cleanups, 'proofboard-e2e-');
    const dataDir = env.PROOFBOARD_DATA!;
    let server: ServerProcess = await startServer(env);
    cleanups.push(async () => void (await server.stop()));

    const keyPath = join(dataDir, 'me.json');
    const keygen = await cli(['keygen', '--out', keyPath]);
    expect(keygen.code, keygen.stderr).toBe(0);
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    const overwrite = await cli(['keygen', '--out', keyPath]);
    expect(overwrite.code).toBe(1);
    expect(overwrite.stderr).toContain('proofboard keygen never overwrites a key');
    // What serve told its operator at start: one log key to publish, and what having no worker means.
    expect(server.output()).toMatch(/log key: \S+\n/);
    expect(server.output()).toContain("publish the log key above: third parties pin it with `proofboard recheck --log-key KEY`");
    expect(server.output()).toContain('replay worker: off (PROOFBOARD_WORKER=off); claims without evidence stay pending');
    if (kind === 'pglite') expect(server.output()).toContain('creating the embedded database in');

    const repo = await makeGitRepo([{ 'train.py': 'print(1)\n' }, { 'train.py': 'print(2)\n' }]);
    cleanups.push(() => rmSync(repo.dir, { recursive: true, force: true }));
    // The parent first: intake refuses a parent that no claim of the task names (unknown_parent).
    const parentClaim = await cli(['submit', repo.commits[0]!, '--server', server.url, '--task', 'digits-mlp', '--metric', '90', '--key', keyPath, '--json'], { cwd: repo.dir });
    expect(parentClaim.code, parentClaim.stderr).toBe(0);
    const submit = await cli(
      ['submit', '--server', server.url, '--task', 'digits-mlp', '--metric', '91', '--parent', repo.commits[0]!, '--key', keyPath, '--json'],
      { cwd: repo.dir },
    );
    expect(submit.code, submit.stderr).toBe(0);
    const posted = JSON.parse(submit.stdout) as { id: string; status: string };
    expect(posted.status).toBe('pending');

    const read = async () => (await fetch(`${server.url}/v1/claims/${posted.id}`)).json() as Promise<Record<string, unknown>>;
    const claim = await read();
    expect(claim).toMatchObject({ id: posted.id, commit: repo.commits[1], parent: repo.commits[0], status: 'pending', task: 'digits-mlp' });
    const bundleRef = claim.bundle as string;
    const blob = await fetch(`${server.url}/v1/blobs/${bundleRef}`);
    expect(blob.status).toBe(200);
    expect(Buffer.from(await blob.arrayBuffer()).subarray(0, 20).toString()).toMatch(/^# v[23] git bundle/);

    const refused = await cli(['submit', '--server', server.url, '--task', 'no-such-task', '--metric', '1', '--metric-name', 'correct', '--key', keyPath], { cwd: repo.dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('unknown_task');

    expect(await server.stop('SIGTERM')).toBe(0);
    server = await startServer(env);
    expect(await read()).toMatchObject({ id: posted.id, status: 'pending', commit: repo.commits[1] });
  });
});
