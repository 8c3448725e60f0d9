// End to end: a real server, claims through the zk, attestation and replay paths, then `proofboard recheck` of the whole
// leaderboard and of single claims from fresh processes: everything passes, trust on first use is announced, the
// pinned key and the remembered checkpoint are used on later runs.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPostgresDatabase, databaseKinds } from '../helpers/databases.ts';
import { cli } from '../helpers/processes.ts';
import { keyFrom, randomCommit, registerVerifier, replayAsWorker, submitAttested, submitForReplay, submitZkFixture, TamperableServer } from './recheck-helpers.ts';

type Report = { ok: boolean; log: { id: string; status: string }[]; claims: { claimId: string; ok: boolean; checks: { id: string; status: string; detail: string }[] }[] };

describe.each(databaseKinds())('recheck through the real server and CLI on %s', (kind) => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('zk, attested and replayed claims re-check from fresh processes', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'proofboard-recheck-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    let url: string | undefined;
    if (kind === 'postgres') {
      const pg = await createPostgresDatabase();
      url = pg.url;
      cleanups.push(pg.drop);
    }
    const s = await TamperableServer.start(dataDir, url);
    cleanups.push(() => s.stop());
    const [alice, bob] = [keyFrom('alice'), keyFrom('bob')];
    await registerVerifier(s.url, 'alice', alice);
    await registerVerifier(s.url, 'bob', bob);
    const attested = await submitAttested(s.url, keyFrom('submitter'), randomCommit(), 90, [alice, bob]);
    expect(attested.status).toBe('verified');
    const zk = await submitZkFixture(s.url);
    const replayed = await submitForReplay(s.url, keyFrom('submitter'), randomCommit(), 88);
    expect(replayed.status).toBe('pending');
    await replayAsWorker(s.url, replayed, 88, alice);
    const state = join(dataDir, 'recheck-state.json');

    const first = await cli(['recheck', '--task', 'digits-mlp', '--server', s.url, '--state', state]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stderr).toContain('TRUST ON FIRST USE');
    expect(JSON.parse(readFileSync(state, 'utf8')).servers[new URL(s.url).origin].vkey).toBe(s.logKey);

    const single = await cli(['recheck', attested.id, zk.id, replayed.id, '--server', s.url, '--state', state, '--log-key', s.logKey, '--json']);
    expect(single.code, single.stdout + single.stderr).toBe(0);
    const report = JSON.parse(single.stdout) as Report;
    expect(report.ok).toBe(true);
    const checks = (id: string) => report.claims.find((c) => c.claimId === id)!.checks;
    const byId = (id: string, check: string) => checks(id).find((c) => c.id === check);
    expect(byId(attested.id, 'verdict.rule')?.status).toBe('pass');
    expect(byId(attested.id, 'log.inclusion')?.status).toBe('pass');
    expect(byId(replayed.id, 'verdict.rule')).toMatchObject({ status: 'pass' });
    expect(byId(replayed.id, 'verdict.rule')!.detail).toMatch(/verified by replayed/);
    expect(byId(replayed.id, 'log.leaves')!.detail).toMatch(/1 verdict/);
    expect(report.log.find((c) => c.id === 'log.consistency')?.status).toBe('pass');
    if (zk.status === 'verified') {
      expect(byId(zk.id, 'zk.proofs')?.detail).toContain('verifies');
      expect(byId(zk.id, 'verdict.rule')?.status).toBe('pass');
    }
    console.log(`[${kind}] zk claim status: ${zk.status}`);

    // These claims carry placeholder bundles, not git bundles: a local replay cannot reproduce the verified claim,
    // and recheck says so instead of passing it (test/replay/replay-flow.test.ts replays a real commit).
    const replay = await cli(['recheck', attested.id, '--server', s.url, '--state', state, '--replay']);
    expect(replay.stdout).toMatch(/replay: local replay failed \(bad_bundle/);
    expect(replay.code).toBe(1);
  }, 240_000);
});
