// A real server whose database is edited behind its back, and `proofboard recheck` from fresh processes catching
// each edit by name with a non-zero exit: a verdict changed, a leaf removed, a metric changed, a verification key
// swapped, a verifier key added after the fact, and the tree rewritten and re-signed (a split view). Then what recheck
// remembers between visits (issue 15): a claim's verdicts deleted, a revocation cleared, a task's quorum lowered; and a
// key registered with a back-dated validFrom, which neither the server nor recheck lets reach back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex, toHex } from '../../src/attest/bytes.ts';
import { appendLeaf, compactTreeRoot, EMPTY_COMPACT_TREE, hashLeaf, signCheckpoint, signerFromSeed } from '../../src/log/index.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { cli } from '../helpers/processes.ts';
import { eq } from 'drizzle-orm';
import { claims as claimsTable, evidence } from '../../db/schema.ts';
import { recordVerdict } from '../../src/service/storage/record-verdict.ts';
import {
  attestation,
  keyFrom,
  LOG_SEED_HEX,
  OPERATOR_TOKEN,
  postAttestation,
  randomCommit,
  registerVerifier,
  submitAttested,
  submitForReplay,
  startTamperableServer,
  submitZkFixture,
  TamperableServer,
  TASK,
  type Key,
  type SubmittedClaim,
} from './recheck-helpers.ts';

type Check = { id: string; status: string; detail: string };
type Report = { ok: boolean; log: Check[]; claims: { claimId: string; ok: boolean; checks: Check[] }[] };

describe.each(databaseKinds())('recheck catches a database edited behind the server on %s', (kind) => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  let s: TamperableServer;
  let state: string;
  const claims: Record<'verdict' | 'metric' | 'leaf' | 'late' | 'zk', SubmittedClaim> = {} as never;
  const [alice, bob, mallory] = [keyFrom('alice'), keyFrom('bob'), keyFrom('mallory')];

  const recheck = async (...args: string[]) => {
    const r = await cli(['recheck', ...args, '--server', s.url, '--state', state, '--log-key', s.logKey, '--json']);
    return { code: r.code, report: JSON.parse(r.stdout || '{}') as Report, stderr: r.stderr };
  };
  const failures = (report: Report, claimId?: string) =>
    [...report.log, ...(report.claims.find((c) => c.claimId === claimId)?.checks ?? [])].filter((c) => c.status === 'fail');

  beforeAll(async () => {
    let dataDir: string;
    ({ s, dataDir } = await startTamperableServer(kind, cleanups, 'proofboard-tamper-'));
    state = join(dataDir, 'state.json');
    await registerVerifier(s.url, 'alice', alice);
    await registerVerifier(s.url, 'bob', bob);
    const submitter = keyFrom('submitter');
    claims.verdict = await submitAttested(s.url, submitter, randomCommit(), 90, [alice, bob]);
    claims.metric = await submitAttested(s.url, submitter, randomCommit(), 91, [alice, bob]);
    claims.leaf = await submitAttested(s.url, submitter, randomCommit(), 92, [alice, bob]);
    claims.late = await submitAttested(s.url, submitter, randomCommit(), 93, [alice, mallory]);
    claims.zk = await submitZkFixture(s.url);
    expect(claims.verdict.status).toBe('verified');
    expect(claims.late.status).toBe('pending');
  }, 180_000);
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('passes before any tampering (and remembers the checkpoint and the registry)', async () => {
    const all = await recheck('--task', 'digits-mlp');
    expect(all.code, JSON.stringify(all.report, null, 1)).toBe(0);
    expect(all.report.claims.length).toBeGreaterThanOrEqual(3);
    const late = await recheck(claims.late.id);
    expect(late.code).toBe(0);
  }, 120_000);

  it('a verdict changed', async () => {
    await s.edit(async (sql) => {
      await sql(`update verdicts set status = 'rejected', method = null, reason_code = 'attestation_contradicts' where claim_id = $1`, [claims.verdict.id]);
      await sql(`update claims set status = 'rejected', method = null where id = $1`, [claims.verdict.id]);
    });
    const r = await recheck(claims.verdict.id);
    expect(r.code).toBe(1);
    const f = failures(r.report, claims.verdict.id);
    expect(f.map((c) => c.id)).toContain('log.leaves');
    expect(f.find((c) => c.id === 'log.leaves')!.detail).toMatch(/verdict changed: status is "verified" in the log but "rejected" on the server/);
  }, 120_000);

  it("an entry's metric changed", async () => {
    await s.edit(async (sql) => void (await sql(`update claims set metric_value = 99 where id = $1`, [claims.metric.id])));
    // The server caches the board and learns of the edit from PostgreSQL's change notification, delivered on its
    // listening connection a moment after the commit (docs/operators.md, "Read cache"): poll briefly for it.
    const leader = async () =>
      ((await (await fetch(`${s.url}/v1/tasks/digits-mlp/leaderboard`)).json()) as { entries: { claimId: string }[] }).entries[0]?.claimId;
    await expect.poll(leader, { timeout: 5_000, interval: 50 }).toBe(claims.metric.id);
    const r = await recheck(claims.metric.id);
    expect(r.code).toBe(1);
    const f = failures(r.report, claims.metric.id).find((c) => c.id === 'claim.fields');
    expect(f?.detail).toMatch(/metric\.value: server shows 99, submitter signed 91/);
  }, 120_000);

  it('a leaf removed', async () => {
    await s.edit(async (sql) => void (await sql(`delete from log_leaves where claim_id = $1`, [claims.leaf.id])));
    const r = await recheck(claims.leaf.id);
    expect(r.code).toBe(1);
    expect(failures(r.report, claims.leaf.id).find((c) => c.id === 'log.leaves')?.detail).toMatch(/leaf removed/);
    const all = await recheck('--task', 'digits-mlp');
    expect(all.code).toBe(1);
    expect(all.report.log.find((c) => c.id === 'log.entries')).toMatchObject({ status: 'fail' });
  }, 120_000);

  it('a verification key swapped', async () => {
    await s.edit(async (sql) => {
      const [row] = await sql(`select vkey from circuits where id = 'digits-mlp'`);
      const vkey = JSON.parse(String(row!.vkey)) as { IC: string[][] };
      vkey.IC[0]![0] = '1';
      const text = JSON.stringify(vkey);
      await sql(`update circuits set vkey = $1, vkey_sha256 = $2 where id = 'digits-mlp'`, [text, createHash('sha256').update(text).digest('hex')]);
    });
    const r = await recheck(claims.zk.id);
    expect(r.code).toBe(1);
    expect(failures(r.report, claims.zk.id).find((c) => c.id === 'circuits.pinned')?.detail).toMatch(/verification key swapped/);
  }, 120_000);

  it('a verifier key added to the registry after the fact', async () => {
    const id = createHash('sha256').update(fromHex(mallory.hex, 'key')).digest('hex').slice(0, 32);
    // Back-dated on both dates a server keeps, then the stored attestation is re-sent so the server re-judges.
    await s.edit(async (sql) => {
      await sql(
        `insert into verifier_keys (id, name, operator, public_key, tasks, valid_from, created_at) values ($1, 'mallory', 'mallory', $2, '["digits-mlp"]'::jsonb, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`,
        [id, mallory.hex],
      );
    });
    // Then a verdict the service itself records and logs: the log is sound, the trust behind it is not.
    await s.asOperator(async (ctx) => {
      const [claim] = await ctx.db.select().from(claimsTable).where(eq(claimsTable.id, claims.late.id));
      const digests = (await ctx.db.select().from(evidence).where(eq(evidence.claimId, claims.late.id))).map((e) => e.digest);
      const verdict = { status: 'verified' as const, method: 'attested' as const, reasonCode: null, rule: 'quorum 2/2 within abs 0', evidenceDigests: digests };
      await ctx.db.transaction((tx) => recordVerdict(ctx, tx, claim!, verdict, new Date()));
    });
    expect(((await (await fetch(`${s.url}/v1/claims/${claims.late.id}`)).json()) as { status: string }).status).toBe('verified');
    const r = await recheck(claims.late.id);
    expect(r.code).toBe(1);
    expect(failures(r.report, claims.late.id).find((c) => c.id === 'registry.history')?.detail).toMatch(/added after the fact/);
  }, 120_000);

  it('the tree rewritten and re-signed (split view)', async () => {
    const before = await recheck(claims.verdict.id);
    expect(before.report.log.filter((c) => c.status === 'fail')).toEqual([]);
    await s.edit(async (sql) => {
      const leaves = await sql(`select index, data, claim_id from log_leaves order by index`);
      const size = Number((await sql(`select size from log_head where id = 1`))[0]!.size);
      // Rewrite history so the edited metric looks logged: the forger holds the log key.
      let tree = EMPTY_COMPACT_TREE;
      const nodes: { level: number; index: number; hash: Uint8Array }[] = [];
      const byIndex = new Map(leaves.map((l) => [Number(l.index), l]));
      await sql(`delete from log_nodes`);
      for (let i = 0; i < size; i++) {
        const leaf = byIndex.get(i);
        let data = leaf ? String(leaf.data) : `{"v":1,"filler":${i}}`;
        if (leaf && leaf.claim_id === claims.metric.id) data = data.replace('"value":91', '"value":99');
        if (leaf) await sql(`update log_leaves set data = $1, leaf_hash = $2 where index = $3`, [data, toHex(hashLeaf(new TextEncoder().encode(data))), i]);
        const r = appendLeaf(tree, hashLeaf(new TextEncoder().encode(data)));
        tree = r.tree;
        nodes.push(...r.newNodes);
      }
      for (const n of nodes) await sql(`insert into log_nodes (level, idx, hash) values ($1, $2, $3)`, [n.level, n.index, toHex(n.hash)]);
      const signer = signerFromSeed('recheck-test.proofboard/log', fromHex(LOG_SEED_HEX, 'seed', 32));
      const root = compactTreeRoot(tree);
      await sql(`delete from log_checkpoints`);
      await sql(`insert into log_checkpoints (size, root_hash, note) values ($1, $2, $3)`, [
        size,
        toHex(root),
        signCheckpoint({ origin: signer.name, size, rootHash: root, extensions: [] }, signer),
      ]);
    });
    const r = await recheck(claims.verdict.id);
    expect(r.code).toBe(1);
    expect(r.report.log.find((c) => c.id === 'log.consistency')).toMatchObject({ status: 'fail' });
    expect(r.report.log.find((c) => c.id === 'log.consistency')!.detail).toMatch(/split view/);
  }, 120_000);
});

describe.each(databaseKinds())('recheck keeps what it promised, and agrees with the server, on %s', (kind) => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  let s: TamperableServer;
  let dataDir: string;
  const [alice, bob, carol, dave] = [keyFrom('alice'), keyFrom('bob'), keyFrom('carol'), keyFrom('dave')];
  const submitter = keyFrom('submitter');

  /** A fresh state file per test: each test's first visit remembers, its second compares. */
  const recheck = async (state: string, ...args: string[]) => {
    const r = await cli(['recheck', ...args, '--server', s.url, '--state', join(dataDir, `${state}.json`), '--log-key', s.logKey, '--json']);
    return { code: r.code, report: JSON.parse(r.stdout || '{}') as Report, stderr: r.stderr };
  };
  const checksOf = (report: Report, claimId: string) => report.claims.find((c) => c.claimId === claimId)?.checks ?? [];
  const operator = async (method: string, path: string, body: unknown) => {
    const res = await fetch(new URL(path, s.url), {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${OPERATOR_TOKEN}` },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const keyId = (k: Key) => createHash('sha256').update(fromHex(k.hex, 'key')).digest('hex').slice(0, 32);
  const statusOf = async (claimId: string) => ((await (await fetch(`${s.url}/v1/claims/${claimId}`)).json()) as { status: string }).status;

  beforeAll(async () => {
    ({ s, dataDir } = await startTamperableServer(kind, cleanups, 'proofboard-promise-'));
    await registerVerifier(s.url, 'alice', alice);
    await registerVerifier(s.url, 'bob', bob);
  }, 180_000);
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('a key registered with a back-dated validFrom counts for nothing received before its registration, on the server and in recheck alike', async () => {
    // Carol's attestation arrives with the claim, before her key is registered: it settles nothing, the claim waits.
    const claim = await submitAttested(s.url, submitter, randomCommit(), 80, [carol]);
    expect(claim.status).toBe('pending');
    // Then carol is registered, valid (the operator says) from long before the attestation arrived, and alice attests.
    await operator('POST', '/v1/verifier-keys', { name: 'carol', operator: 'carol', publicKey: carol.hex, tasks: [TASK], validFrom: '2026-01-01T00:00:00Z' });
    await postAttestation(s.url, claim.id, attestation(claim.id, claim.commit, 80, alice));
    // One vote (alice); carol's counts only from her registration, after her attestation was received. Both sides
    // judge with effectiveValidFrom; before, the server counted carol (verified) and recheck did not (exit 1).
    const r = await recheck('backdated', claim.id);
    expect({ server: await statusOf(claim.id), recheck: r.code }, JSON.stringify(r.report, null, 1)).toEqual({ server: 'pending', recheck: 0 });
  }, 120_000);

  it("a claim set to verified with its verdicts deleted fails `recheck CLAIM_ID`, not only `--task`", async () => {
    const claim = await submitForReplay(s.url, submitter, randomCommit(), 100);
    expect(claim.status).toBe('pending');
    expect((await recheck('no-verdict', claim.id)).code).toBe(0);
    await s.edit(async (sql) => {
      await sql(`delete from verdicts where claim_id = $1`, [claim.id]);
      await sql(`update claims set status = 'verified', method = 'attested' where id = $1`, [claim.id]);
    });
    const leader = async () =>
      ((await (await fetch(`${s.url}/v1/tasks/${TASK}/leaderboard`)).json()) as { entries: { claimId: string }[] }).entries[0]?.claimId;
    await expect.poll(leader, { timeout: 5_000, interval: 50 }).toBe(claim.id);
    const r = await recheck('no-verdict', claim.id);
    expect(r.code).toBe(1);
    expect(checksOf(r.report, claim.id).find((c) => c.id === 'verdict.status')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/shows verified\/attested but has no verdict: its history is missing/) });
  }, 120_000);

  it("a task's quorum lowered in the database", async () => {
    const claim = await submitAttested(s.url, submitter, randomCommit(), 81, [alice, bob]);
    expect(claim.status).toBe('verified');
    const before = await recheck('quorum', claim.id);
    expect(before.code).toBe(0);
    expect(checksOf(before.report, claim.id).find((c) => c.id === 'task.definition')).toMatchObject({ status: 'pass', detail: expect.stringMatching(/is the one defined at log entry \d+/) });
    // The number is inlined: postgres.js would send a string parameter for a jsonb as a JSON string ("1").
    const setQuorum = (n: 1 | 2) => s.edit(async (sql) => void (await sql(`update tasks set policy = jsonb_set(policy, '{quorum}', '${n}') where id = $1`, [TASK])));
    await setQuorum(1);
    try {
      const quorum = async () => ((await (await fetch(`${s.url}/v1/claims/${claim.id}/bundle`)).json()) as { task: { policy: { quorum: number } } }).task.policy.quorum;
      await expect.poll(quorum, { timeout: 5_000, interval: 50 }).toBe(1);
      const r = await recheck('quorum', claim.id);
      expect(r.code).toBe(1);
      expect(checksOf(r.report, claim.id).find((c) => c.id === 'task.policy')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/quorum 2 became 1/) });
      // Caught on a first visit too, with no memory: the task's definition is a log leaf, and the bundle's policy is
      // held to it. Before, a machine that had not seen the task would have judged with the lowered quorum.
      const first = await recheck('quorum-first-visit', claim.id);
      expect(first.code).toBe(1);
      expect(checksOf(first.report, claim.id).find((c) => c.id === 'task.definition')).toMatchObject({
        status: 'fail',
        detail: expect.stringMatching(/task digits-mlp differs from its logged definition \(entry \d+\) in policy/),
      });
      // Not forgotten: the changed policy is not remembered in place of the one first seen.
      expect((await recheck('quorum', claim.id)).code).toBe(1);
    } finally {
      await setQuorum(2);
    }
  }, 120_000);

  it('a revocation cleared in the database', async () => {
    await registerVerifier(s.url, 'dave', dave);
    const claim = await submitAttested(s.url, submitter, randomCommit(), 82, [alice, dave]);
    expect(claim.status).toBe('verified');
    await operator('POST', `/v1/verifier-keys/${keyId(dave)}/revoke`, { reason: 'compromised' });
    expect(await statusOf(claim.id)).toBe('pending');
    expect((await recheck('revocation', claim.id)).code).toBe(0);
    // A state file written before recheck remembered revocations, validity, tasks and policies is read and upgraded
    // without a false alarm.
    const statePath = join(dataDir, 'revocation.json');
    const saved = JSON.parse(readFileSync(statePath, 'utf8')) as { servers: Record<string, { registry: Record<string, Record<string, unknown>>; tasks?: unknown }> };
    for (const server of Object.values(saved.servers)) {
      delete server.tasks;
      for (const k of Object.values(server.registry)) for (const f of ['validUntil', 'revokedAt', 'revocationReason', 'tasks']) delete k[f];
    }
    writeFileSync(statePath, JSON.stringify(saved));
    expect((await recheck('revocation', claim.id)).code).toBe(0);
    const upgraded = JSON.parse(readFileSync(statePath, 'utf8')) as typeof saved;
    await s.edit(async (sql) => void (await sql(`update verifier_keys set revoked_at = null, revocation_reason = null where id = $1`, [keyId(dave)])));
    const r = await recheck('revocation', claim.id);
    expect(r.code).toBe(1);
    expect(checksOf(r.report, claim.id).find((c) => c.id === 'registry.history')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/revocation cleared: revoked compromised at/) });
    // What the upgrade wrote back, and what caught the edit.
    expect(Object.values(upgraded.servers)[0]!.registry[keyId(dave)]).toMatchObject({ revocationReason: 'compromised', tasks: [TASK] });
  }, 120_000);
});
