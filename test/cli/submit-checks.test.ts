// `proofboard submit` checks on this machine before it sends anything, against a real HTTP server that counts every
// request it sees, on both databases: evidence for another task, commit or key, of the wrong shape, for another claim
// or contradicting the value, a metric the task does not measure, --beats-parent without --parent or on a task that
// cannot test it. Then what is sent: the same submit twice is one claim, the claim's URL is printed, a rejected claim
// exits 1, and uncommitted changes get a warning.
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { eq } from 'drizzle-orm';
import { tasks } from '../../db/schema.ts';
import { createApp } from '../../src/api/app.ts';
import type { AppContext } from '../../src/service/context.ts';
import { main } from '../../src/cli/main.ts';
import { EXIT } from '../../src/cli/usage.ts';
import { toHex } from '../../src/attest/bytes.ts';
import { ed25519PublicKey } from '../../src/attest/ed25519.ts';
import { writeNewKeyFile } from '../../src/cli/key-file.ts';
import { makeTestContext } from '../helpers/context.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { newKey } from '../helpers/claims.ts';
import { replayAttestation } from '../helpers/attestations.ts';
import { syntheticCommit } from '../helpers/git-objects.ts';
import { cli } from '../helpers/processes.ts';

const FIXTURES = join(import.meta.dirname, '..', 'zk', 'fixtures');

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-C', cwd, ...args], { encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_DATE: '2026-11-27T08:00:00Z', GIT_COMMITTER_DATE: '2026-11-27T08:00:00Z' } }).trim();
}

describe.each(databaseKinds())('proofboard submit against a counting server on %s', (kind) => {
  let ctx: AppContext;
  let close: () => Promise<void>;
  let server: ReturnType<typeof serve>;
  let url: string;
  const seen: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'proofboard-submit-'));
  // The repository the zk fixtures were proven for (its one commit), and a plain one with two commits.
  const fixtureRepo = join(dir, 'fixture-repo');
  const plainRepo = join(dir, 'plain-repo');
  const fixtureKey = join(dir, 'fixture-key.json');
  const otherKey = join(dir, 'other-key.json');
  const evidence = join(FIXTURES, 'valid-evidence.json');

  beforeAll(async () => {
    const t = await makeTestContext(kind);
    ctx = t.ctx;
    close = t.close;
    // Claims without evidence need no proof of work here: the checks are under test, not the flood protection.
    await ctx.db.update(tasks).set({ stampBaseBits: 0 }).where(eq(tasks.id, 'digits-mlp'));
    const app = createApp(ctx, { log: () => {} });
    server = await new Promise((resolve) => {
      const s = serve(
        {
          fetch: (req) => {
            seen.push(`${req.method} ${new URL(req.url).pathname}`);
            return app.fetch(req);
          },
          port: 0,
          hostname: '127.0.0.1',
        },
        () => resolve(s),
      );
    });
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

    const fixture = syntheticCommit('zk-fixture');
    writeFileSync(join(dir, 'fixture.bundle'), fixture.bundle);
    mkdirSync(fixtureRepo);
    git(fixtureRepo, 'init', '-q');
    git(fixtureRepo, 'fetch', '-q', join(dir, 'fixture.bundle'), 'refs/heads/main:refs/heads/main');
    git(fixtureRepo, 'checkout', '-q', 'main');
    expect(git(fixtureRepo, 'rev-parse', 'HEAD')).toBe(JSON.parse(readFileSync(join(FIXTURES, 'claim.json'), 'utf8')).commit);

    mkdirSync(plainRepo);
    git(plainRepo, 'init', '-q');
    git(plainRepo, 'config', 'user.email', 'a@example.invalid');
    git(plainRepo, 'config', 'user.name', 'a');
    writeFileSync(join(plainRepo, 'train.py'), 'print(1)\n');
    git(plainRepo, 'add', 'train.py');
    git(plainRepo, 'commit', '-q', '-m', 'first');
    writeFileSync(join(plainRepo, 'train.py'), 'print(2)\n');
    git(plainRepo, 'commit', '-q', '-am', 'second');

    // The key the fixtures were proven with (make-fixtures.ts: 32 bytes of 7), and another.
    const secret = new Uint8Array(32).fill(7);
    writeFileSync(fixtureKey, JSON.stringify({ publicKey: toHex(ed25519PublicKey(secret)), secretKey: toHex(secret) }), { mode: 0o600 });
    writeNewKeyFile(otherKey);
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => void seen.splice(0));

  async function submit(args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
    const error = vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
    try {
      const code = await main(['submit', '--server', url, ...args]);
      return { code, stdout: out.join('\n'), stderr: err.join('\n') };
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
  }
  const file = (name: string, body: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof body === 'string' ? body : JSON.stringify(body));
    return path;
  };
  const sends = () => seen.filter((s) => !s.startsWith('GET '));

  it('refuses evidence made for another task, commit or key before any request', async () => {
    const cases = [
      { args: ['--task', 'other-task', '--metric', '56', '--key', fixtureKey, '--repo', fixtureRepo], says: 'the proof is for another task than other-task' },
      { args: ['--task', 'digits-mlp', '--metric', '56', '--key', fixtureKey, '--repo', plainRepo], says: 'the proof is for another commit than' },
      { args: ['--task', 'digits-mlp', '--metric', '56', '--key', otherKey, '--repo', fixtureRepo], says: 'the proof binds another submitter key' },
    ];
    for (const c of cases) {
      const r = await submit([...c.args, '--evidence', evidence]);
      expect(r.code, r.stderr).toBe(EXIT.failed);
      expect(r.stderr).toContain(c.says);
      expect(r.stderr).toContain('not sent');
      expect(seen, c.says).toEqual([]);
    }
  });

  it('refuses evidence of the wrong shape, and a command line that cannot be right, before any request', async () => {
    const notJson = file('not-json.json', '{"type": "zk",');
    const wrongShape = file('wrong-shape.json', { type: 'zk', circuit: 'digits-mlp', shards: [] });
    const unknownKind = file('unknown.json', { type: 'replay', value: 1 });
    const r = await submit(['--task', 'digits-mlp', '--metric', '56', '--key', fixtureKey, '--repo', fixtureRepo, '--evidence', notJson, '--evidence', wrongShape, '--evidence', unknownKind]);
    expect(r.code).toBe(EXIT.failed);
    expect(r.stderr).toContain(`${notJson}: not a JSON file`);
    expect(r.stderr).toContain(`${wrongShape}: not zk or attestation evidence`);
    expect(r.stderr).toContain(`${unknownKind}: not zk or attestation evidence`);

    const orphan = await submit(['--task', 'digits-mlp', '--metric', '1', '--beats-parent', '--key', otherKey, '--repo', plainRepo]);
    expect(orphan.code).toBe(EXIT.usage);
    expect(orphan.stderr).toContain('--beats-parent needs --parent');
    const huge = await submit(['--task', 'digits-mlp', '--metric', '1e13', '--key', otherKey, '--repo', plainRepo]);
    expect(huge.code).toBe(EXIT.usage);
    expect(huge.stderr).toContain('--metric');
    expect(seen).toEqual([]);
  });

  it('refuses, after reading only the public task, what the task and the claim contradict', async () => {
    const commit = git(plainRepo, 'rev-parse', 'HEAD');
    const attestation = file('other-claim.json', {
      type: 'attestation',
      envelope: replayAttestation(newKey(), { claimId: 'c'.repeat(64), commit, value: 10, now: new Date() }),
    });
    const r = await submit(['--task', 'digits-mlp', '--metric', '56', '--key', otherKey, '--repo', plainRepo, '--evidence', attestation]);
    expect(r.code).toBe(EXIT.failed);
    expect(r.stderr).toContain(`the attestation is for claim ${'c'.repeat(64)}`);
    expect(r.stderr).toContain('measured 10 on average, which contradicts the claimed 56');

    const wrongValue = await submit(['--task', 'digits-mlp', '--metric', '57', '--key', fixtureKey, '--repo', fixtureRepo, '--evidence', evidence]);
    expect(wrongValue.code).toBe(EXIT.failed);
    expect(wrongValue.stderr).toContain('the proof shows correct = 56, the claim says 57');

    const wrongMetric = await submit(['--task', 'digits-mlp', '--metric', '0.5', '--metric-name', 'loss', '--key', otherKey, '--repo', plainRepo]);
    expect(wrongMetric.stderr).toContain('task digits-mlp measures correct, not loss');

    // digits-mlp asks one run per attestation: a t-test over one run of each side can never be computed.
    const untestable = await submit(['--task', 'digits-mlp', '--metric', '1', '--parent', 'HEAD~1', '--beats-parent', '--key', otherKey, '--repo', plainRepo]);
    expect(untestable.code).toBe(EXIT.failed);
    expect(untestable.stderr).toContain('task digits-mlp cannot test --beats-parent');

    expect(seen.length).toBeGreaterThan(0);
    expect(sends()).toEqual([]);
  });

  it('sends a good claim once however often it is submitted, prints its URL, and warns about uncommitted changes', async () => {
    writeFileSync(join(plainRepo, 'train.py'), 'print(3)\n');
    const first = await submit(['--task', 'digits-mlp', '--metric', '1', '--key', otherKey, '--repo', plainRepo]);
    expect(first.code, first.stderr).toBe(EXIT.ok);
    expect(first.stderr).toContain('has uncommitted changes');
    const id = /^claim ([0-9a-f]{64})/.exec(first.stdout)?.[1];
    expect(id).toBeDefined();
    expect(first.stdout).toContain(`${url}/claims/${id}`);
    expect(sends()).toEqual(['PUT /v1/blobs/sha256:' + sends()[0]!.split('sha256:')[1], 'POST /v1/claims']);

    const again = await submit(['--task', 'digits-mlp', '--metric', '1', '--key', otherKey, '--repo', plainRepo]);
    expect(again.code).toBe(EXIT.ok);
    expect(again.stdout).toContain(`claim ${id} (already submitted: the same claim)`);
    const publicKey = (JSON.parse(readFileSync(otherKey, 'utf8')) as { publicKey: string }).publicKey;
    const listed = (await (await fetch(`${url}/v1/claims?submitter=${publicKey}`)).json()) as { claims: { id: string }[] };
    expect(listed.claims.map((c) => c.id)).toEqual([id]);
    git(plainRepo, 'checkout', '-q', '--', 'train.py');
  });

  it('is one claim when two separate processes submit the same commit (the bundle does not depend on the process)', async () => {
    const args = ['submit', '--server', url, '--task', 'digits-mlp', '--metric', '2', '--key', otherKey, '--repo', plainRepo, 'HEAD~1'];
    const first = await cli(args);
    expect(first.code, first.stderr).toBe(0);
    const second = await cli(args);
    expect(second.code, second.stderr).toBe(0);
    const id = /^claim ([0-9a-f]{64})/.exec(first.stdout)?.[1];
    expect(id).toBeDefined();
    expect(second.stdout).toContain(`claim ${id} (already submitted: the same claim)`);
  });

  it('exits 1 when the server rejects the claim, and again when the same claim is sent again', async () => {
    const valid = JSON.parse(readFileSync(evidence, 'utf8')) as { shards: { proof: { pi_a: string[] } }[] };
    // Another point for pi_a: the binding and the metric are intact, so only the pairing can refuse it.
    const forged = structuredClone(valid);
    forged.shards[0]!.proof.pi_a = ['1', '2', '1'];
    const args = ['--task', 'digits-mlp', '--metric', '56', '--key', fixtureKey, '--repo', fixtureRepo, '--evidence', file('forged.json', forged)];
    const bad = await submit(args);
    expect(bad.code, bad.stdout + bad.stderr).toBe(EXIT.failed);
    expect(bad.stdout).toMatch(/status rejected \(zk_/);
    const id = /^claim ([0-9a-f]{64})/.exec(bad.stdout)?.[1];
    expect(bad.stdout).toContain(`${url}/claims/${id}`);
    const again = await submit(args);
    expect(again.code).toBe(EXIT.failed);
    expect(again.stdout).toContain(`claim ${id} (already submitted: the same claim)`);
  });
});
