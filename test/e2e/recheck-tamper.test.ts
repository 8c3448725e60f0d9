// A real server whose database is edited behind its back, and `proofboard recheck` from fresh processes catching
// each edit by name with a non-zero exit: a verdict changed, a leaf removed, a metric changed, a verification key
// swapped, a verifier key added after the fact, and the tree rewritten and re-signed (a split view).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex, toHex } from '../../src/attest/bytes.ts';
import { appendLeaf, compactTreeRoot, EMPTY_COMPACT_TREE, hashLeaf, signCheckpoint, signerFromSeed } from '../../src/log/index.ts';
import { createPostgresDatabase, databaseKinds } from '../helpers/databases.ts';
import { cli } from '../helpers/processes.ts';
import { eq } from 'drizzle-orm';
import { claims as claimsTable, evidence } from '../../db/schema.ts';
import { recordVerdict } from '../../src/service/record-verdict.ts';
import {
  keyFrom,
  LOG_SEED_HEX,
  randomCommit,
  registerVerifier,
  submitAttested,
  submitZkFixture,
  TamperableServer,
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
    const dataDir = mkdtempSync(join(tmpdir(), 'proofboard-tamper-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    let url: string | undefined;
    if (kind === 'postgres') {
      const pg = await createPostgresDatabase();
      url = pg.url;
      cleanups.push(pg.drop);
    }
    s = await TamperableServer.start(dataDir, url);
    cleanups.push(() => s.stop());
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
        `insert into verifier_keys (id, name, public_key, tasks, valid_from, created_at) values ($1, 'mallory', $2, '["digits-mlp"]'::jsonb, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`,
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
