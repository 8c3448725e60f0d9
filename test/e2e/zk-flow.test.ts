// End to end with zero-knowledge evidence: the real CLI (keygen, prove, submit from a git repo whose HEAD is the
// claimed commit) against the real server process, on both databases. The claim is verified by its proofs within the
// intake request, shows on the leaderboard as `zk`, and the server still exits cleanly on SIGTERM afterwards (the
// pairing library, the warm-up and the proof pool leave nothing running).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { databaseKinds } from '../helpers/databases.ts';
import { cli, makeGitRepo, ROOT, serverEnv, startServer } from '../helpers/processes.ts';

const work = mkdtempSync(join(tmpdir(), 'proofboard-zk-e2e-'));
const keyPath = join(work, 'me.json');
const evidencePath = join(work, 'ev.json');
let repo: { dir: string; commits: string[] };
let commit: string;

// Proving costs seconds per claim: one key, one commit and one proof set serve both databases.
beforeAll(async () => {
  repo = await makeGitRepo([{ 'train.py': 'print(1)\n' }]);
  commit = repo.commits[0]!;
  const keygen = await cli(['keygen', '--out', keyPath]);
  expect(keygen.code, keygen.stderr).toBe(0);
  const prove = await cli([
    'prove',
    '--task',
    'digits-mlp',
    '--weights',
    join(ROOT, 'examples', 'digits', 'model.json'),
    '--commit',
    commit,
    '--key',
    keyPath,
    '--out',
    evidencePath,
  ]);
  expect(prove.code, prove.stderr).toBe(0);
  expect(prove.stderr).toContain('correct = 56');
}, 300_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  if (repo) rmSync(repo.dir, { recursive: true, force: true });
});

describe.each(databaseKinds())('zk flow through the real server and CLI on %s', (kind) => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('keygen, prove, submit: verified by proof at intake, on the leaderboard; the server exits cleanly', async () => {
    const env = await serverEnv(kind, cleanups, 'proofboard-zk-e2e-data-');
    const server = await startServer(env);
    cleanups.push(async () => void (await server.stop()));

    const submit = await cli(
      ['submit', '--server', server.url, '--task', 'digits-mlp', '--metric', '56', '--metric-name', 'correct', '--evidence', evidencePath, '--key', keyPath, '--json'],
      { cwd: repo.dir },
    );
    expect(submit.code, submit.stderr).toBe(0);
    const posted = JSON.parse(submit.stdout) as { id: string; status: string; verdict: { method: string | null; reasonCode: string | null } | null };
    expect(posted).toMatchObject({ status: 'verified', verdict: { method: 'zk', reasonCode: null } });

    const claim = (await (await fetch(`${server.url}/v1/claims/${posted.id}`)).json()) as Record<string, unknown>;
    expect(claim).toMatchObject({ id: posted.id, commit, status: 'verified', task: 'digits-mlp' });
    const board = (await (await fetch(`${server.url}/v1/tasks/digits-mlp/leaderboard`)).json()) as {
      entries: { claimId: string; method: string; metric?: unknown }[];
    };
    const entry = board.entries.find((e) => e.claimId === posted.id);
    expect(entry?.method).toBe('zk');

    // The same submit again signs the same bytes (createdAt is the commit's date, the intake is deterministic): one
    // claim, answered from what is stored. A second claim reusing the proofs is refused at intake (zk-intake.test.ts).
    const again = await cli(
      ['submit', '--server', server.url, '--task', 'digits-mlp', '--metric', '56', '--metric-name', 'correct', '--evidence', evidencePath, '--key', keyPath, '--json'],
      { cwd: repo.dir },
    );
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ id: posted.id, status: 'verified', created: false });

    expect(await server.stop('SIGTERM'), server.output()).toBe(0);
  });
});
