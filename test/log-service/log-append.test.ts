// The service's transparency log on both databases: appends store the nodes and a signed checkpoint of exactly the
// stored tree, proofs served over HTTP verify with src/log, hostile query values are 400s, a failed transaction
// leaves no trace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { createApp, type Api } from '../../src/api/app.ts';
import { fromBase64 } from '../../src/attest/bytes.ts';
import {
  MemoryTree,
  parseVerifierKey,
  verifyCheckpoint,
  verifyCheckpointConsistency,
  verifyLeafInCheckpoint,
  type Checkpoint,
} from '../../src/log/index.ts';
import { appendLogLeaves } from '../../src/service/storage/log-append.ts';
import type { AppContext } from '../../src/service/context.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { makeTestContext } from '../helpers/context.ts';

const leafBytes = (i: number) => new TextEncoder().encode(JSON.stringify({ v: 1, entry: i }));

describe.each(databaseKinds())('transparency log service on %s', (kind) => {
  let ctx: AppContext;
  let app: Api;
  let close: () => Promise<void>;
  const reference = new MemoryTree();
  let logKey: ReturnType<typeof parseVerifierKey> & { ok: true };

  beforeAll(async () => {
    ({ ctx, close } = await makeTestContext(kind, {}, { seedExampleTask: false }));
    app = createApp(ctx, { log: () => {} });
    const key = (await (await app.request('/v1/log/key')).json()) as { vkey: string; origin: string };
    const parsed = parseVerifierKey(key.vkey);
    if (!parsed.ok) throw new Error(parsed.detail);
    logKey = parsed;
    expect(key.origin).toBe(ctx.logSigner.origin);
  }, 60_000);
  afterAll(async () => close?.());

  const checkpoint = async (): Promise<Checkpoint> => {
    const res = await app.request('/v1/log/checkpoint');
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const verified = verifyCheckpoint(await res.text(), logKey.value);
    if (!verified.ok) throw new Error(verified.detail);
    return verified.checkpoint;
  };

  it('signs the empty log', async () => {
    const c = await checkpoint();
    expect(c.size).toBe(0);
    expect(c.rootHash).toEqual(reference.root());
  });

  it('appends 37 leaves with nodes and a checkpoint each; the checkpoint root is the reference root', async () => {
    const t0 = performance.now();
    for (let i = 0; i < 37; i++) {
      const [index] = await ctx.db.transaction((tx) => appendLogLeaves(ctx, tx, [{ data: leafBytes(i), claimId: `claim-${i}` }]));
      expect(index).toBe(reference.appendData(leafBytes(i)));
    }
    const perAppendMs = (performance.now() - t0) / 37;
    console.log(`[${kind}] append + checkpoint: ${perAppendMs.toFixed(1)} ms per leaf`);
    const c = await checkpoint();
    expect(c.size).toBe(37);
    expect(c.rootHash).toEqual(reference.root());
    const rows = await ctx.db.execute(sql`select count(*)::int as n from log_checkpoints`);
    const n = ((rows as unknown as { rows?: { n: number }[] }).rows ?? (rows as unknown as { n: number }[]))[0]!.n;
    expect(n).toBe(38);
  });

  it('serves inclusion proofs that verify against the checkpoint, and fail for other bytes', async () => {
    const c = await checkpoint();
    for (const index of [0, 1, 17, 32, 36]) {
      const res = await app.request(`/v1/log/proof/inclusion?index=${index}&size=${c.size}`);
      expect(res.status).toBe(200);
      const { proof } = (await res.json()) as { proof: string[] };
      const hashes = proof.map((p) => fromBase64(p, 'proof'));
      expect(verifyLeafInCheckpoint({ data: leafBytes(index), index, proof: hashes }, c)).toEqual({ ok: true });
      expect(verifyLeafInCheckpoint({ data: leafBytes(index + 1), index, proof: hashes }, c).ok).toBe(false);
    }
  });

  it('serves consistency proofs between every stored checkpoint size and the latest', async () => {
    const latest = await checkpoint();
    for (const from of [0, 1, 2, 3, 8, 20, 36, 37]) {
      const older: Checkpoint = { ...latest, size: from, rootHash: rootOf(from) };
      const res = await app.request(`/v1/log/proof/consistency?from=${from}&to=${latest.size}`);
      expect(res.status).toBe(200);
      const { proof } = (await res.json()) as { proof: string[] };
      const ok = verifyCheckpointConsistency(older, latest, proof.map((p) => fromBase64(p, 'proof')));
      expect(ok, `from ${from}`).toEqual({ ok: true });
    }
  });

  it('pages entries with the exact leaf bytes', async () => {
    const res = await app.request('/v1/log/entries?start=30&end=2000');
    expect(res.status).toBe(400);
    const page = (await (await app.request('/v1/log/entries?start=30&end=1000')).json()) as {
      size: number;
      entries: { index: number; data: string; claimId: string }[];
    };
    expect(page.size).toBe(37);
    expect(page.entries.map((e) => e.index)).toEqual([30, 31, 32, 33, 34, 35, 36]);
    expect(page.entries[0]!.data).toBe(new TextDecoder().decode(leafBytes(30)));
  });

  it.each([
    '/v1/log/entries?start=-1&end=3',
    '/v1/log/entries?start=007&end=9',
    '/v1/log/entries?start=5&end=5',
    '/v1/log/entries?start=1e3&end=2000',
    '/v1/log/entries',
    `/v1/log/entries?start=0&end=${'9'.repeat(400)}`,
    '/v1/log/proof/inclusion?index=37&size=37',
    '/v1/log/proof/inclusion?index=0&size=38',
    '/v1/log/proof/inclusion?index=0x1&size=3',
    '/v1/log/proof/inclusion?index=0&size=9007199254740993',
    '/v1/log/proof/consistency?from=5&to=4',
    '/v1/log/proof/consistency?from=0&to=38',
    '/v1/log/proof/consistency?from=&to=3',
  ])('refuses %s with a 400 and an error code', async (path) => {
    const res = await app.request(path);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string } };
    expect(['bad_request', 'bad_query']).toContain(body.error.code);
  });

  it('a rolled-back append leaves no leaf, node, size or checkpoint behind', async () => {
    const before = await checkpoint();
    await expect(
      ctx.db.transaction(async (tx) => {
        await appendLogLeaves(ctx, tx, [{ data: leafBytes(999), claimId: 'doomed' }]);
        throw new Error('crash after append');
      }),
    ).rejects.toThrow('crash after append');
    expect(await checkpoint()).toEqual(before);
    const [index] = await ctx.db.transaction((tx) => appendLogLeaves(ctx, tx, [{ data: leafBytes(37), claimId: 'claim-37' }]));
    expect(index).toBe(reference.appendData(leafBytes(37)));
    expect((await checkpoint()).rootHash).toEqual(reference.root());
  });

  it('refuses leaf bytes that are not UTF-8 (the stored text must re-encode to the hashed bytes)', async () => {
    await expect(ctx.db.transaction((tx) => appendLogLeaves(ctx, tx, [{ data: new Uint8Array([0xff, 0xfe]), claimId: 'bad' }]))).rejects.toThrow();
  });

  function rootOf(size: number) {
    const t = new MemoryTree();
    for (let i = 0; i < size; i++) t.appendData(leafBytes(i));
    return t.root();
  }
});
