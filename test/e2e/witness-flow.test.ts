// Three C2SP tlog-witnesses and a real proofboard server on loopback (issue 19): checkpoints gather cosignatures in
// the background; a witness restarted mid-stream keeps its promise from its state file; a server that forks its log
// (the tree rewritten and re-signed with its own key) gets no cosignature on the fork from an honest witness, and
// `proofboard recheck --witnesses-needed 2` refuses the forked log while it accepted the honest one.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { fromHex, toHex } from '../../src/attest/bytes.ts';
import {
  appendLeaf,
  compactTreeRoot,
  cosignerFromSeed,
  EMPTY_COMPACT_TREE,
  formatAddCheckpointRequest,
  formatCosignerKey,
  formatVerifierKey,
  hashLeaf,
  parseCheckpoint,
  parseNote,
  signCheckpoint,
  signerFromSeed,
} from '../../src/log/index.ts';
import { startWitness, type RunningWitness } from '../../src/witness/witness-server.ts';
import { createPostgresDatabase, databaseKinds } from '../helpers/databases.ts';
import { cli, startServer } from '../helpers/processes.ts';
import { keyFrom, LOG_SEED_HEX, OPERATOR_TOKEN, randomCommit, registerVerifier, submitAttested, TamperableServer } from './recheck-helpers.ts';

const ORIGIN = 'witness-test.proofboard/log';
const logSigner = signerFromSeed(ORIGIN, fromHex(LOG_SEED_HEX, 'seed', 32));
const logVkey = formatVerifierKey(logSigner);
const cosigners = [1, 2, 3].map((i) => cosignerFromSeed(`witness-test.example/w${i}`, new Uint8Array(32).fill(40 + i)));
const pins = cosigners.flatMap((c) => ['--witness', formatCosignerKey(c)]);

type Check = { id: string; status: string; detail: string };
type Report = { ok: boolean; log: Check[]; claims: { claimId: string; ok: boolean; checks: Check[] }[] };

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `probe` until it gives a value; bounded by a count, never by a time threshold on the thing tested. */
async function until<T>(what: string, probe: () => Promise<T | null | undefined>, tries = 600): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await probe();
    if (v !== null && v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting: ${what}`);
}

describe.each(databaseKinds())('witnesses cosign, remember and refuse a fork on %s', (kind) => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'proofboard-witness-'));
  const ports: number[] = [];
  const witnesses: RunningWitness[] = [];
  const witnessLogs: string[][] = [[], [], []];
  let s: TamperableServer;
  const submitter = keyFrom('submitter');
  const [alice, bob] = [keyFrom('alice'), keyFrom('bob')];

  const startOne = (i: number) =>
    startWitness({
      cosigner: cosigners[i]!,
      logs: new Map([[ORIGIN, [signerFromSeed(ORIGIN, fromHex(LOG_SEED_HEX, 'seed', 32))]]]),
      statePath: join(dir, `witness-${i}.json`),
      host: '127.0.0.1',
      port: ports[i]!,
      log: (l) => witnessLogs[i]!.push(l),
    });

  const recheck = async (state: string, ...args: string[]) => {
    const r = await cli(['recheck', ...args, '--server', s.url, '--state', join(dir, `${state}.json`), '--log-key', s.logKey, '--json']);
    return { code: r.code, report: JSON.parse(r.stdout || '{}') as Report, stderr: r.stderr };
  };

  /** The cosigned checkpoint once it has the latest size and lines from `n` witnesses. */
  const cosignedAtLatest = (n: number) =>
    until(`a checkpoint cosigned by ${n} witnesses`, async () => {
      const latest = parseCheckpoint(must(parseNote(await (await fetch(`${s.url}/v1/log/checkpoint`)).text())).text);
      const res = await fetch(`${s.url}/v1/log/checkpoint/cosigned`);
      if (res.status !== 200 || !latest.ok) return null;
      const note = must(parseNote(await res.text()));
      const cp = parseCheckpoint(note.text);
      return cp.ok && cp.value.size === latest.value.size && note.signatures.length === n + 1 ? { note, size: cp.value.size } : null;
    });

  beforeAll(async () => {
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    for (let i = 0; i < 3; i++) ports.push(await freePort());
    for (let i = 0; i < 3; i++) witnesses.push(await startOne(i));
    cleanups.push(() => Promise.all(witnesses.map((w) => w.close())));
    let databaseUrl: string | undefined;
    if (kind === 'postgres') {
      const pg = await createPostgresDatabase();
      databaseUrl = pg.url;
      cleanups.push(pg.drop);
    }
    const env: Record<string, string> = {
      PORT: String(await freePort()),
      PROOFBOARD_DATA: dir,
      PROOFBOARD_OPERATOR_TOKEN: OPERATOR_TOKEN,
      PROOFBOARD_LOG_KEY: LOG_SEED_HEX,
      PROOFBOARD_LOG_ORIGIN: ORIGIN,
      PROOFBOARD_WITNESSES: witnesses.map((w, i) => `${w.url} ${formatCosignerKey(cosigners[i]!)}`).join(', '),
      PROOFBOARD_WITNESS_INTERVAL_MS: '100',
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    };
    s = new TamperableServer(env, dir, databaseUrl);
    s.server = await startServer(env);
    s.logKey = logVkey;
    cleanups.push(() => s.stop());
    await registerVerifier(s.url, 'alice', alice);
    await registerVerifier(s.url, 'bob', bob);
  }, 180_000);

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  let firstClaim = '';
  it('each new checkpoint gathers cosignatures from all three witnesses, and recheck with k = 2 passes', async () => {
    const claim = await submitAttested(s.url, submitter, randomCommit(), 90, [alice, bob]);
    expect(claim.status).toBe('verified');
    firstClaim = claim.id;
    const cosigned = await cosignedAtLatest(3);
    expect(cosigned.note.signatures.map((l) => l.name).slice(1).sort()).toEqual(cosigners.map((c) => c.name).sort());
    // The bundle carries the cosigned checkpoint, so a reader needs nothing else.
    const bundle = (await (await fetch(`${s.url}/v1/claims/${claim.id}/bundle`)).json()) as { log: { checkpoint: string } };
    expect(must(parseNote(bundle.log.checkpoint)).signatures.length).toBe(4);
    const r = await recheck('honest', claim.id, ...pins, '--witnesses-needed', '2');
    expect(r.code, JSON.stringify(r.report, null, 1)).toBe(0);
    // The claim page names the witnesses to pin and prints the command with them and a majority k.
    const page = await (await fetch(`${s.url}/claims/${claim.id}`)).text();
    expect(page).toContain('--witnesses-needed 2');
    for (const c of cosigners) expect(page).toContain(`--witness ${formatCosignerKey(c)}`);
    expect(r.report.log.find((c) => c.id === 'log.witnesses')).toMatchObject({ status: 'pass' });
  }, 180_000);

  it('a witness restarted mid-stream keeps its promise', async () => {
    await witnesses[1]!.close();
    // Intake does not wait for the witness that is down.
    const claim = await submitAttested(s.url, submitter, randomCommit(), 91, [alice, bob]);
    expect(claim.status).toBe('verified');
    witnesses[1] = await startOne(1);
    const { size } = await cosignedAtLatest(3);
    // It remembers what it cosigned: a stale old size is answered with its size, another tree of that size refused.
    const post = (body: string) => fetch(`${witnesses[1]!.url}/add-checkpoint`, { method: 'POST', body });
    const forged = signCheckpoint({ origin: ORIGIN, size, rootHash: hashLeaf(new TextEncoder().encode('other')), extensions: [] }, logSigner);
    const stale = await post(formatAddCheckpointRequest({ oldSize: 0, proof: [], note: forged }));
    expect([stale.status, stale.headers.get('content-type'), await stale.text()]).toEqual([409, 'text/x.tlog.size', `${size}\n`]);
    const fork = await post(formatAddCheckpointRequest({ oldSize: size, proof: [], note: forged }));
    expect(fork.status).toBe(422);
    // Hostile bodies: an answer with a status, never a crash.
    expect((await post('old 1\n\nnot a checkpoint')).status).toBe(400);
    expect((await post('x'.repeat(2 << 20))).status).toBe(413);
  }, 180_000);

  it('a server that forks its log gets no cosignature on the fork, and recheck --witnesses-needed 2 refuses it', async () => {
    const honestSize = (await cosignedAtLatest(3)).size;
    const refusalsBefore = witnessLogs.map((l) => l.filter((x) => x.startsWith('refused (422)')).length);
    // The operator rewrites one leaf and re-signs the tree with the log key: a split view for whoever reads it now.
    await s.edit(async (sql) => {
      const leaves = await sql(`select index, data from log_leaves order by index`);
      // A verdict leaf of an earlier claim: the task's definition leaf is what every claim's re-check proves.
      const forged = Number(leaves.find((l) => !String(l.data).includes('"kind":"task-definition"'))!.index);
      let tree = EMPTY_COMPACT_TREE;
      const nodes: { level: number; index: number; hash: Uint8Array }[] = [];
      await sql(`delete from log_nodes`);
      for (const leaf of leaves) {
        const i = Number(leaf.index);
        let data = String(leaf.data);
        if (i === forged) data = data.replace(/}$/, ',"forged":true}');
        await sql(`update log_leaves set data = $1, leaf_hash = $2 where index = $3`, [data, toHex(hashLeaf(new TextEncoder().encode(data))), i]);
        const r = appendLeaf(tree, hashLeaf(new TextEncoder().encode(data)));
        tree = r.tree;
        nodes.push(...r.newNodes);
      }
      for (const n of nodes) await sql(`insert into log_nodes (level, idx, hash) values ($1, $2, $3)`, [n.level, n.index, toHex(n.hash)]);
      const root = compactTreeRoot(tree);
      await sql(`delete from log_checkpoints`);
      await sql(`insert into log_checkpoints (size, root_hash, note) values ($1, $2, $3)`, [
        leaves.length,
        toHex(root),
        signCheckpoint({ origin: ORIGIN, size: leaves.length, rootHash: root, extensions: [] }, logSigner),
      ]);
    });
    // The forked log grows on: the service asks every witness to cosign it, each honest witness refuses.
    const claim = await submitAttested(s.url, submitter, randomCommit(), 92, [alice, bob]);
    expect(claim.status).toBe('verified');
    await until('every witness to refuse the fork', async () =>
      witnessLogs.every((l, i) => l.filter((x) => x.startsWith('refused (422)')).length > refusalsBefore[i]!) ? true : null,
    );
    expect((await fetch(`${s.url}/v1/log/checkpoint/cosigned`)).status).toBe(404);
    // Each witness still serves the honest tree it cosigned.
    for (const w of witnesses) {
      const originHash = createHash('sha256').update(ORIGIN).digest('hex');
      const held = parseCheckpoint(must(parseNote(await (await fetch(`${w.url}/${originHash}/checkpoint`)).text())).text);
      expect(held.ok && held.value.size).toBe(honestSize);
    }
    // A reader who pins two of three witnesses refuses the forked log, on a first visit as on a later one.
    for (const state of ['fresh', 'honest']) {
      const r = await recheck(state, firstClaim, ...pins, '--witnesses-needed', '2');
      expect(r.code, JSON.stringify(r.report, null, 1)).toBe(1);
      expect(r.report.log.find((c) => c.id === 'log.witnesses')).toMatchObject({ status: 'fail' });
    }
    // Without pinned witnesses a first-time reader would have accepted it: this is what k protects against.
    const unpinned = await recheck('unpinned', claim.id);
    expect(unpinned.code, JSON.stringify(unpinned.report, null, 1)).toBe(0);
  }, 240_000);
});

function must<T>(r: { ok: true; value: T } | { ok: false; detail: string }): T {
  if (!r.ok) throw new Error(r.detail);
  return r.value;
}
