// Crash under load: the real server is killed with SIGKILL while several clients stream claims at it, then restarted
// on the same data. Every claim that got a 2xx must be there, whole: a pending claim with its replay job, or a
// settled one with its verdict and that verdict's log leaf; the evidence rows as sent; and the transparency log must
// verify against a checkpoint signed by the pinned key, and extend the checkpoint seen before the crash.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../db/client.ts';
import { claimIdOf, signClaim, type ClaimPayload } from '../../src/attest/claim.ts';
import { mineStamp } from '../../src/attest/stamp.ts';
import { hashLeaf, rootFromLeafHashes, equalHashes, verifyCheckpoint, verifyCheckpointConsistency, parseVerifierKey } from '../../src/log/index.ts';
import { createPostgresDatabase, databaseKinds } from '../helpers/databases.ts';
import { DEFAULT_COMMIT, DEFAULT_LOG_ORIGIN, newKey, sha256Hex, withIntake } from '../helpers/claims.ts';
import { syntheticCommit } from '../helpers/git-objects.ts';
import { startServer, type ServerProcess } from '../helpers/processes.ts';

const OPERATOR_TOKEN = 'fault-test-operator-token-0123456789';
// Real git bundles: the plain claims' commit, and the zk fixture's (intake checks that a bundle holds its commit).
const BUNDLE = Buffer.from(DEFAULT_COMMIT.bundle);
const ZK_BUNDLE = Buffer.from(syntheticCommit('zk-fixture').bundle);
const zkClaim = JSON.parse(readFileSync(new URL('../zk/fixtures/claim.json', import.meta.url), 'utf8')) as ClaimPayload;
const zkEvidence = JSON.parse(readFileSync(new URL('../zk/fixtures/valid-evidence.json', import.meta.url), 'utf8')) as unknown;
// The fixtures' public test key (test/zk/fixtures/make-fixtures.ts): the proofs are bound to it.
const zkSecret = new Uint8Array(32).fill(7);

type Sent = { id: string; status: string; evidence: number };

describe.each(databaseKinds())('SIGKILL under load on %s', (kind) => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('keeps every acknowledged claim whole and the log consistent across the crash', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'proofboard-fault-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const env: Record<string, string> = {
      PROOFBOARD_DATA: dataDir,
      PROOFBOARD_OPERATOR_TOKEN: OPERATOR_TOKEN,
      PROOFBOARD_REQUESTS_PER_ADDRESS_PER_MINUTE: '10000000',
      PROOFBOARD_CLAIMS_PER_KEY_PER_MINUTE: '1000000',
      PROOFBOARD_PENDING_PER_KEY: '1000000',
      LOG_LEVEL: 'warn',
    };
    let databaseUrl: string | undefined;
    if (kind === 'postgres') {
      const pg = await createPostgresDatabase();
      databaseUrl = env.DATABASE_URL = pg.url;
      cleanups.push(pg.drop);
    }
    let server: ServerProcess = await startServer(env);
    cleanups.push(async () => void (await server.stop('SIGKILL')));
    const logKey = await pinnedLogKey(server);

    for (const b of [BUNDLE, ZK_BUNDLE]) expect((await fetch(`${server.url}/v1/blobs/sha256:${sha256Hex(b)}`, { method: 'PUT', body: b })).status).toBe(201);
    const task = await fetch(`${server.url}/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${OPERATOR_TOKEN}` },
      body: JSON.stringify({
        id: 'fault-plain',
        title: 'Fault test',
        metricName: 'correct',
        direction: 'higher',
        policy: { quorum: 1, direction: 'higher', tolerance: { absolute: 0 }, runs: 1, seeds: [0] },
        stampBaseBits: 0,
      }),
    });
    expect(task.status, await task.clone().text()).toBe(201);

    // Two kinds of claims stream in: plain ones (stored pending with a replay job) and claims carrying the zk fixture's
    // proofs (the first is verified, every later one rejected as a reused statement): both kinds write a verdict and a
    // log leaf in the same transaction as the claim.
    let n = 0;
    const nextBody = () => {
      const i = n++;
      if (i % 4 === 3) {
        const payload = { ...zkClaim, createdAt: new Date(Date.UTC(2026, 10, 27, 9, 0, i)).toISOString() };
        return { body: withIntake({ claim: signClaim(payload, zkSecret), evidence: [zkEvidence] }, zkSecret, DEFAULT_LOG_ORIGIN), evidence: 1 };
      }
      const key = newKey();
      const payload: ClaimPayload = {
        v: 1,
        task: 'fault-plain',
        commit: DEFAULT_COMMIT.commit,
        parent: null,
        beatsParent: false,
        metric: { name: 'correct', value: i },
        submitter: key.hex,
        createdAt: '2026-11-27T09:00:00.000Z',
        bundle: `sha256:${sha256Hex(BUNDLE)}`,
      };
      const claim = signClaim(payload, key.secretKey);
      // Enough work for any queue depth this test reaches (one bit per doubling past 8 queued jobs).
      const { stamp } = mineStamp(claimIdOf(Buffer.from(claim.payload, 'base64')), 8);
      return { body: withIntake({ claim, evidence: [], stamp }, key, DEFAULT_LOG_ORIGIN), evidence: 0 };
    };

    const acknowledged: Sent[] = [];
    let crashed = false;
    let beforeCrash: string | null = null;
    const KILL_AFTER = 40;
    const url = server.url;
    const client = async () => {
      while (!crashed) {
        const { body, evidence } = nextBody();
        try {
          const res = await fetch(`${url}/v1/claims`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
          const json = (await res.json()) as { id?: string; status?: string; error?: { code: string; message: string } };
          if (res.status >= 200 && res.status < 300) acknowledged.push({ id: json.id!, status: json.status!, evidence });
          else throw new Error(`unexpected refusal ${res.status}: ${JSON.stringify(json.error)}`);
        } catch (e) {
          if (crashed) return;
          throw e;
        }
        if (acknowledged.length >= KILL_AFTER / 2 && beforeCrash === null) {
          beforeCrash = '';
          beforeCrash = await (await fetch(`${url}/v1/log/checkpoint`)).text();
        }
        if (acknowledged.length >= KILL_AFTER && !crashed) {
          // Killed while the other clients' requests are in flight: some get no answer, and must not count.
          crashed = true;
          server.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all([client(), client(), client(), client()]);
    await server.stop('SIGKILL');
    expect(acknowledged.length).toBeGreaterThanOrEqual(KILL_AFTER);

    server = await startServer(env);
    expect((await pinnedLogKey(server)).text).toBe(logKey.text);

    // Every acknowledged claim is there, with a consistent state.
    for (const sent of acknowledged) {
      const res = await fetch(`${server.url}/v1/claims/${sent.id}`);
      expect(res.status, sent.id).toBe(200);
      const c = (await res.json()) as {
        status: string;
        evidence: unknown[];
        verdict: { status: string; logIndex: number | null } | null;
        replay: { state: string }[];
      };
      expect(c.status).toBe(sent.status);
      expect(c.evidence).toHaveLength(sent.evidence);
      if (c.status === 'pending') {
        expect(c.verdict).toBeNull();
        expect(c.replay.map((j) => j.state)).toEqual(['queued']);
      } else {
        expect(c.verdict?.status).toBe(c.status);
        expect(c.verdict?.logIndex).toEqual(expect.any(Number));
      }
    }

    // The log: a checkpoint signed by the key pinned before the crash, whose root is the tree of the served entries,
    // and which extends the checkpoint read before the crash.
    const note = await (await fetch(`${server.url}/v1/log/checkpoint`)).text();
    const verified = verifyCheckpoint(note, logKey.key);
    expect(verified.ok, JSON.stringify(verified)).toBe(true);
    if (!verified.ok) return;
    const cp = verified.checkpoint;
    const entries: { index: number; claimId: string; data: string }[] = [];
    for (let start = 0; start < cp.size; start += 1000) {
      const page = (await (await fetch(`${server.url}/v1/log/entries?start=${start}&end=${start + 1000}`)).json()) as { entries: typeof entries };
      entries.push(...page.entries.filter((e) => e.index < cp.size));
    }
    expect(entries.map((e) => e.index)).toEqual([...Array(cp.size).keys()]);
    const root = rootFromLeafHashes(entries.map((e) => hashLeaf(new TextEncoder().encode(e.data))));
    expect(equalHashes(root, cp.rootHash)).toBe(true);
    const settled = acknowledged.filter((s) => s.status !== 'pending').map((s) => s.id);
    const logged = new Set(entries.map((e) => e.claimId));
    for (const id of settled) expect(logged.has(id), id).toBe(true);

    const older = verifyCheckpoint(beforeCrash!, logKey.key);
    expect(older.ok).toBe(true);
    if (older.ok) {
      const proof = (await (await fetch(`${server.url}/v1/log/proof/consistency?from=${older.checkpoint.size}&to=${cp.size}`)).json()) as { proof: string[] };
      const consistent = verifyCheckpointConsistency(older.checkpoint, cp, proof.proof.map((p) => Uint8Array.from(Buffer.from(p, 'base64'))));
      expect(consistent.ok, JSON.stringify(consistent)).toBe(true);
    }

    // Storage-level invariants, read directly once the server has stopped: no claim settled without a verdict, no
    // verdict without its leaf, the head equal to the number of leaves, no pending claim without a replay job.
    expect(await server.stop('SIGTERM')).toBe(0);
    const db = await openDatabase({ url: databaseUrl, dataDir });
    try {
      const rows = async (q: ReturnType<typeof sql>) => {
        const r = (await db.db.execute(q)) as unknown as { rows?: Record<string, unknown>[] } & Record<string, unknown>[];
        return (r.rows ?? r) as Record<string, unknown>[];
      };
      expect(await rows(sql`select c.id from claims c where c.status <> 'pending' and not exists (select 1 from verdicts v where v.claim_id = c.id)`)).toEqual([]);
      expect(await rows(sql`select v.id from verdicts v left join log_leaves l on l.index = v.log_index where l.index is null or l.claim_id <> v.claim_id`)).toEqual([]);
      expect(await rows(sql`select c.id from claims c where c.status = 'pending' and not exists (select 1 from replay_jobs j where j.claim_id = c.id)`)).toEqual([]);
      const [head] = await rows(sql`select (select size from log_head where id = 1) as size, (select count(*) from log_leaves) as leaves, (select coalesce(max(index), -1) from log_leaves) as top`);
      expect(Number(head!.size)).toBe(Number(head!.leaves));
      expect(Number(head!.top)).toBe(Number(head!.leaves) - 1);
    } finally {
      await db.close();
    }
  });
});

/** The log key as the server printed it at start (a third party would pin it from a source other than the API). */
async function pinnedLogKey(server: ServerProcess) {
  // It is printed just after the "serving" line that startServer waits for.
  for (let i = 0; i < 200 && !/log key: \S+\n/.test(server.output()); i++) await new Promise((r) => setTimeout(r, 50));
  const m = /log key: (\S+)\n/.exec(server.output());
  if (!m) throw new Error(`no log key in the server output:\n${server.output()}`);
  const parsed = parseVerifierKey(m[1]!);
  if (!parsed.ok) throw new Error(`bad log key ${m[1]}`);
  return { text: m[1]!, key: parsed.value };
}
