// End to end: a real server, claims through the zk, attestation and replay paths, then `proofboard recheck` of the whole
// leaderboard and of single claims from fresh processes: everything passes, trust on first use is announced, the
// pinned key and the remembered checkpoint are used on later runs.
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { databaseKinds } from '../helpers/databases.ts';
import { cli } from '../helpers/processes.ts';
import { coSignAttestation } from '../../src/attest/statement.ts';
import { attestation, keyFrom, OPERATOR_TOKEN, postAttestation, startTamperableServer, randomCommit, registerVerifier, replayAsWorker, submitAttested, submitForReplay, submitZkFixture } from './recheck-helpers.ts';

type Report = { ok: boolean; log: { id: string; status: string }[]; claims: { claimId: string; ok: boolean; checks: { id: string; status: string; detail: string }[] }[] };

describe.each(databaseKinds())('recheck through the real server and CLI on %s', (kind) => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  const startServer = () => startTamperableServer(kind, cleanups);

  it('zk, attested and replayed claims re-check from fresh processes', async () => {
    const { s, dataDir } = await startServer();
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

    // These claims carry synthetic commits (a git bundle with one label file, no train.py): a local replay cannot
    // reproduce the verified claim, and recheck says so instead of passing it (test/replay/replay-flow.test.ts
    // replays a real commit).
    const replay = await cli(['recheck', attested.id, '--server', s.url, '--state', state, '--replay']);
    expect(replay.stdout).toMatch(/replay: local replay failed \(training_failed/);
    expect(replay.code).toBe(1);
  }, 240_000);

  it('every verdict the service logged is reached again by the same rules from recheck\'s side', async () => {
    const { s, dataDir } = await startServer();
    const [alice, bob, carol] = [keyFrom('alice'), keyFrom('bob'), keyFrom('carol')];
    const keyIds: Record<string, string> = {};
    for (const [name, key] of [['alice', alice], ['bob', bob], ['carol', carol]] as const) keyIds[name] = ((await registerVerifier(s.url, name, key)) as { id: string }).id;
    const submitter = keyFrom('submitter');

    // Verified by a quorum, then disputed by a late trusted contradiction.
    const disputed = await submitAttested(s.url, submitter, randomCommit(), 90, [alice, bob]);
    await postAttestation(s.url, disputed.id, attestation(disputed.id, disputed.commit, 10, carol));
    // Verified by a quorum that includes bob, then pending again when bob is revoked as compromised.
    const lost = await submitAttested(s.url, submitter, randomCommit(), 91, [alice, bob]);
    // Rejected by a replay that measured less.
    const contradicted = await submitForReplay(s.url, submitter, randomCommit(), 95);
    await replayAsWorker(s.url, contradicted, 80, alice);
    // Verified by a replay.
    const replayed = await submitForReplay(s.url, submitter, randomCommit(), 88);
    await replayAsWorker(s.url, replayed, 88, carol);
    const revoke = await fetch(new URL(`/v1/verifier-keys/${keyIds.bob}/revoke`, s.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${OPERATOR_TOKEN}` },
      body: JSON.stringify({ reason: 'compromised' }),
    });
    expect(revoke.status, await revoke.clone().text()).toBe(200);

    type Shown = { status: string; method: string | null; reasonCode: string | null; history: { status: string; reasonCode: string | null; logIndex: number | null }[] };
    const shown = async (id: string) => (await (await fetch(new URL(`/v1/claims/${id}`, s.url))).json()) as Shown;
    const expected: Record<string, [string, string | null]> = {
      [disputed.id]: ['disputed', 'attestation_contradicts'],
      [lost.id]: ['pending', 'quorum_lost'],
      [contradicted.id]: ['rejected', 'replay_contradicts'],
      [replayed.id]: ['verified', null],
    };
    const state = join(dataDir, 'recheck-state.json');
    const run = await cli(['recheck', ...Object.keys(expected), '--server', s.url, '--state', state, '--log-key', s.logKey, '--json']);
    const report = JSON.parse(run.stdout) as Report;
    for (const [id, [status, reasonCode]] of Object.entries(expected)) {
      const claim = await shown(id);
      expect(claim, id).toMatchObject({ status, reasonCode });
      // Every change of status is one verdict, and every verdict one leaf of its own.
      const indexes = claim.history.map((h) => h.logIndex);
      expect(indexes.every((i) => i !== null)).toBe(true);
      expect(new Set(indexes).size).toBe(indexes.length);
      const checks = report.claims.find((c) => c.claimId === id)!.checks;
      expect(checks.find((c) => c.id === 'verdict.rule'), `${id}: ${JSON.stringify(checks)}`).toMatchObject({ status: 'pass', detail: expect.stringMatching(/the rules reach it again/) });
      expect(checks.find((c) => c.id === 'log.leaves')?.status).toBe('pass');
    }
    expect(run.code, run.stdout + run.stderr).toBe(0);
  }, 240_000);

  it('two keys of one operator are one vote for the server and for recheck alike (issue 15, finding 4)', async () => {
    const { s, dataDir } = await startServer();
    const [a1, a2, bob] = [keyFrom('lab-a key 1'), keyFrom('lab-a key 2'), keyFrom('bob')];
    await registerVerifier(s.url, 'lab-a primary', a1, 'lab-a');
    await registerVerifier(s.url, 'lab-a spare', a2, 'lab-a');
    await registerVerifier(s.url, 'bob', bob);
    const submitter = keyFrom('submitter');

    // Each key its own envelope, then both keys on one envelope: one operator, quorum 1/2, pending.
    const separate = await submitAttested(s.url, submitter, randomCommit(), 90, [a1, a2]);
    const coSignedCommit = randomCommit();
    const coSigned = await submitAttested(s.url, submitter, coSignedCommit, 90, []);
    expect((await postAttestation(s.url, coSigned.id, coSignAttestation(attestation(coSigned.id, coSignedCommit, 90, a2), a1.secretKey))).status).toBe('pending');
    // lab-a and bob: two operators, verified.
    const twoOperators = await submitAttested(s.url, submitter, randomCommit(), 90, [a2, bob]);

    type Shown = { status: string; verdict: { rule: string } | null };
    const shown = async (id: string) => (await (await fetch(new URL(`/v1/claims/${id}`, s.url))).json()) as Shown;
    expect(await shown(separate.id)).toMatchObject({ status: 'pending' });
    expect(await shown(coSigned.id)).toMatchObject({ status: 'pending' });
    expect(await shown(twoOperators.id)).toMatchObject({ status: 'verified', verdict: { rule: 'quorum 2/2 within abs 0' } });

    // recheck recomputes each verdict from the bundle's registry: counting keys would reach "verified" for the first
    // two and fail them.
    const state = join(dataDir, 'recheck-state.json');
    const ids = [separate.id, coSigned.id, twoOperators.id];
    const run = await cli(['recheck', ...ids, '--server', s.url, '--state', state, '--log-key', s.logKey, '--json']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as Report;
    for (const id of ids) {
      const checks = report.claims.find((c) => c.claimId === id)!.checks;
      expect(checks.find((c) => c.id === 'verdict.rule'), JSON.stringify(checks)).toMatchObject({ status: 'pass' });
    }
    const attestations = (id: string) => report.claims.find((c) => c.claimId === id)!.checks.find((c) => c.id === 'attestations')!.detail;
    expect(attestations(separate.id)).toMatch(/insufficient \(quorum 1\/2 within abs 0\); counted 1; not counted: #1 duplicate_operator/);
    expect(attestations(twoOperators.id)).toMatch(/verified \(quorum 2\/2 within abs 0\); counted 2/);
    const remembered = JSON.parse(readFileSync(state, 'utf8')).servers[new URL(s.url).origin].registry as Record<string, { operator?: string }>;
    expect(Object.values(remembered).map((k) => k.operator).sort()).toEqual(['bob', 'lab-a', 'lab-a']);
  }, 240_000);
});
