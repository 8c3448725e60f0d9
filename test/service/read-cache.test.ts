// The read cache (src/service/storage/read-cache.ts): served only while no change is known, and every change becomes known,
// whoever made it. First its contract against a fake listener that injects faults, then on each database kind
// against the real notifications of migration 0001: the service's own writes, edits through a separate connection,
// a fill racing a change, and a lost listening connection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, Socket, type Server } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { listenPostgres, openMemoryDatabase, type ChangeHandlers, type Db, type Unlisten } from '../../db/client.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { buildContext } from '../../src/server.ts';
import { loadSecrets } from '../../src/service/storage/secrets.ts';
import * as schema from '../../db/schema.ts';
import { claims as claimsTable } from '../../db/schema.ts';
import { eq, sql } from 'drizzle-orm';
import { createApp, type Api } from '../../src/api/app.ts';
import { claimIdOf, type ClaimPayload } from '../../src/attest/claim.ts';
import { fromBase64 } from '../../src/attest/bytes.ts';
import { mineStamp } from '../../src/attest/stamp.ts';
import { replayAttestation } from '../helpers/attestations.ts';
import type { AppContext } from '../../src/service/context.ts';
import { getLeaderboard } from '../../src/service/views/leaderboard.ts';
import { etagMatches, NOTIFYING_TABLES, ReadCache } from '../../src/service/storage/read-cache.ts';
import { getTaskPage, listTaskSummaries } from '../../src/service/views/task-page.ts';
import { listTasks } from '../../src/service/actions/tasks.ts';
import { makeTestContext, OPERATOR_TOKEN } from '../helpers/context.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { DEFAULT_COMMIT, poolCommit, newKey, postJson, putBlob, signedClaim, withIntake, type TestKey } from '../helpers/claims.ts';

/** A listener driven by hand: the in-memory fake of Database.listen. */
function fakeListener() {
  let h: ChangeHandlers | null = null;
  return {
    listen: async (_channel: string, handlers: ChangeHandlers): Promise<Unlisten> => {
      h = handlers;
      handlers.onListen();
      return async () => void (h = null);
    },
    notify: () => h!.onNotify('claims'),
    lose: () => h!.onLost(),
    relisten: () => h!.onListen(),
  };
}

function counter() {
  let n = 0;
  const fill = async () => ++n;
  return { fill, calls: () => n };
}

describe('read cache contract (fake listener)', () => {
  it('caches nothing without a listener, nor before listening starts', async () => {
    const cache = new ReadCache();
    const c = counter();
    await cache.read('k', c.fill);
    await cache.read('k', c.fill);
    expect(c.calls()).toBe(2);
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 0, off: 2 });
    await cache.listenTo({});
    await cache.read('k', c.fill);
    expect(c.calls()).toBe(3);
    expect(cache.active).toBe(false);
  });

  it('serves a second read from memory until a notification arrives', async () => {
    const cache = new ReadCache();
    const fake = fakeListener();
    await cache.listenTo(fake);
    const c = counter();
    expect(await cache.read('k', c.fill)).toBe(1);
    expect(await cache.read('k', c.fill)).toBe(1);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1 });
    fake.notify();
    expect(await cache.read('k', c.fill)).toBe(2);
  });

  it('never stores a fill during which the generation moved', async () => {
    const cache = new ReadCache();
    const fake = fakeListener();
    await cache.listenTo(fake);
    let n = 0;
    const racing = async () => {
      n++;
      // The query has started (its generation was read first); a change commits and is notified before the store.
      fake.notify();
      return n;
    };
    expect(await cache.read('k', racing)).toBe(1);
    expect(cache.size).toBe(0);
    const c = counter();
    expect(await cache.read('k', c.fill)).toBe(1);
    expect(c.calls()).toBe(1);
  });

  it('turns off while the listener is lost and forgets everything when it listens again', async () => {
    const cache = new ReadCache();
    const fake = fakeListener();
    await cache.listenTo(fake);
    const c = counter();
    await cache.read('k', c.fill);
    const before = cache.generation;
    fake.lose();
    expect(cache.active).toBe(false);
    expect(cache.size).toBe(0);
    await cache.read('k', c.fill);
    await cache.read('k', c.fill);
    expect(c.calls()).toBe(3);
    // A fill that started while listening and ends after the loss is not stored either.
    fake.relisten();
    let release!: () => void;
    const slow = cache.read('slow', () => new Promise<number>((r) => (release = () => r(7))));
    fake.lose();
    fake.relisten();
    release();
    expect(await slow).toBe(7);
    expect(cache.size).toBe(0);
    expect(cache.generation).toBeGreaterThan(before + 2);
    await cache.read('k', c.fill);
    await cache.read('k', c.fill);
    expect(c.calls()).toBe(4);
  });

  it('shares one fill among concurrent misses, keeps at most maxEntries, and freezes what it shares', async () => {
    const cache = new ReadCache(2);
    await cache.listenTo(fakeListener());
    let fills = 0;
    const fill = async () => {
      fills++;
      await new Promise((r) => setTimeout(r, 10));
      return { entries: [{ rank: 1 }] };
    };
    const [a, b] = await Promise.all([cache.read('x', fill), cache.read('x', fill)]);
    expect(fills).toBe(1);
    expect(a).toBe(b);
    expect(() => ((a.entries[0] as { rank: number }).rank = 2)).toThrow(TypeError);
    await cache.read('y', fill);
    await cache.read('x', fill); // used last: y is now the oldest
    await cache.read('z', fill);
    expect(cache.size).toBe(2);
    const before = fills;
    await cache.read('x', fill);
    await cache.read('y', fill);
    expect(fills).toBe(before + 1);
  });

  it('matches If-None-Match as RFC 9110 says (weak comparison, lists, *)', () => {
    expect(etagMatches('"abc"', '"abc"')).toBe(true);
    expect(etagMatches('W/"abc"', '"abc"')).toBe(true);
    expect(etagMatches('"x", "abc"', '"abc"')).toBe(true);
    expect(etagMatches('*', '"abc"')).toBe(true);
    expect(etagMatches('"abd"', '"abc"')).toBe(false);
    expect(etagMatches(undefined, '"abc"')).toBe(false);
  });
});

type Board = { entries: { claimId: string; metric: { value: number } }[] };

describe.each(databaseKinds())('read cache on %s', (kind) => {
  let ctx: AppContext;
  let cache: ReadCache;
  let app: Api;
  let close: () => Promise<void>;
  /** Raw SQL that does not go through the service or its Database: a separate connection on PostgreSQL. */
  let outside: (query: string, params?: unknown[]) => Promise<Record<string, unknown>[]>;
  let closeOutside: () => Promise<void> = async () => {};
  let databaseUrl = '';
  const verifiers: TestKey[] = [newKey(), newKey()];
  let commits = 0;

  beforeAll(async () => {
    const t = await makeTestContext(kind);
    ctx = t.ctx;
    cache = t.readCache;
    close = t.close;
    app = createApp(ctx, { log: () => {} });
    expect((await putBlob(app, DEFAULT_COMMIT.bundle)).status).toBe(201);
    for (const [i, key] of verifiers.entries()) {
      const res = await postJson(app, '/v1/verifier-keys', { name: `v${i}`, operator: `v${i}`, publicKey: key.hex, tasks: ['digits-mlp'] }, { authorization: `Bearer ${OPERATOR_TOKEN}` });
      expect(res.status, await res.clone().text()).toBe(201);
    }
    if (kind === 'pglite') {
      const client = (ctx.db as unknown as { $client: PGlite }).$client;
      outside = async (q, p = []) => (await client.query<Record<string, unknown>>(q, p)).rows;
    } else {
      const o = (ctx.db as unknown as { $client: postgres.Sql }).$client.options;
      databaseUrl = `postgres://${encodeURIComponent(o.user)}@${o.host[0]}:${o.port[0]}/${o.database}`;
      const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
      outside = async (q, p = []) => [...(await sql.unsafe(q, p as never[]))] as Record<string, unknown>[];
      closeOutside = () => sql.end({ timeout: 5 });
    }
    expect(cache.active).toBe(true);
  });
  afterAll(async () => {
    await closeOutside();
    await close();
  });

  const board = async () => {
    const res = await app.request('/v1/tasks/digits-mlp/leaderboard');
    expect(res.status).toBe(200);
    return (await res.json()) as Board;
  };
  const metricOf = async (claimId: string) => (await board()).entries.find((e) => e.claimId === claimId)?.metric.value;

  /** A claim verified through the API: two trusted attestations inside the claim. */
  async function verifiedClaim(value: number): Promise<string> {
    commits++;
    const commit = poolCommit(commits);
    const envelope = signedClaim(newKey(), { commit, metric: { name: 'correct', value } } as Partial<ClaimPayload>);
    const id = claimIdOf(fromBase64(envelope.payload, 'payload'));
    const now = Date.now();
    const evidence = verifiers.map((key) => ({
      type: 'attestation',
      envelope: replayAttestation(key, { claimId: id, commit, value, now: new Date(now) }),
    }));
    let res = await postJson(app, '/v1/claims', withIntake({ claim: envelope, evidence }));
    if (res.status === 428) {
      const bits = ((await res.json()) as { error: { details: { requiredBits: number } } }).error.details.requiredBits;
      res = await postJson(app, '/v1/claims', withIntake({ claim: envelope, evidence, stamp: mineStamp(id, bits).stamp }));
    }
    expect(res.status, await res.clone().text()).toBeLessThan(300);
    expect(((await res.json()) as { status: string }).status).toBe('verified');
    return id;
  }

  it('has a change trigger on every table the cached reads depend on, and the reads use no other table', async () => {
    const rows = await outside(
      `select c.relname as t from pg_trigger g join pg_class c on c.oid = g.tgrelid where g.tgname = 'proofboard_changed' and not g.tgisinternal`,
    );
    expect(rows.map((r) => r.t).sort()).toEqual([...NOTIFYING_TABLES].sort());
    // The cached reads, run uncached over a drizzle instance that logs its SQL, on the same connection.
    const seen: string[] = [];
    const logger = { logQuery: (q: string) => void seen.push(q) };
    const client = (ctx.db as unknown as { $client: never }).$client;
    const db = (kind === 'pglite' ? drizzlePglite(client, { schema, logger }) : drizzlePostgres(client, { schema, logger })) as unknown as Db;
    const plain: AppContext = { ...ctx, db, readCache: undefined };
    await verifiedClaim(50);
    await getLeaderboard(plain, 'digits-mlp');
    await getTaskPage(plain, 'digits-mlp');
    await listTaskSummaries(plain);
    await listTasks(plain);
    const tables = new Set(seen.flatMap((q) => [...q.matchAll(/\b(?:from|join)\s+"([a-z_]+)"/gi)].map((m) => m[1]!)));
    expect(tables.size).toBeGreaterThan(0);
    for (const t of tables) expect(NOTIFYING_TABLES as readonly string[], `cached reads read "${t}"`).toContain(t);
  });

  it('answers a second read with no change from memory (counted, and on /metrics)', async () => {
    await board();
    const before = cache.stats();
    const again = await board();
    const after = cache.stats();
    expect(after.hits).toBeGreaterThan(before.hits);
    expect(after.misses).toBe(before.misses);
    expect(again.entries.length).toBeGreaterThan(0);
    const metrics = await (await app.request('/metrics')).text();
    expect(metrics).toMatch(/proofboard_read_cache_lookups_total\{outcome="hit"\} [1-9]/);
    expect(metrics).toMatch(/proofboard_read_cache_invalidations_total\{cause="notification"\} [1-9]/);
  });

  it("shows the service's own writes on the next read: a new verified claim, the task list, the page", async () => {
    await board();
    await listTaskSummaries(ctx);
    const id = await verifiedClaim(97);
    expect((await board()).entries[0]!.claimId).toBe(id);
    const summaries = await listTaskSummaries(ctx);
    expect(summaries.find((s) => s.id === 'digits-mlp')!.best).toBe(97);
    expect((await getTaskPage(ctx, 'digits-mlp')).entries[0]!.claimId).toBe(id);
  });

  it('shows a statement run on the service database outside a transaction on the next read', async () => {
    const id = await verifiedClaim(65);
    expect(await metricOf(id)).toBe(65);
    expect(await metricOf(id)).toBe(65);
    await ctx.db.update(claimsTable).set({ metricValue: 66 }).where(eq(claimsTable.id, id));
    expect(await metricOf(id)).toBe(66);
    await ctx.db.execute(sql`update claims set metric_value = 67 where id = ${id}`);
    expect(await metricOf(id)).toBe(67);
  });

  it('shows an edit made through a separate connection, behind the service', async () => {
    const id = await verifiedClaim(60);
    expect(await metricOf(id)).toBe(60);
    expect(await metricOf(id)).toBe(60); // cached now
    await outside(`update claims set metric_value = 99.5 where id = $1`, [id]);
    // PostgreSQL delivers the notification on the listening connection shortly after the commit.
    await expect.poll(() => metricOf(id), { timeout: 5_000, interval: 20 }).toBe(99.5);
    expect((await board()).entries[0]!.claimId).toBe(id);

    const tasks = async () => ((await (await app.request('/v1/tasks')).json()) as { tasks: { id: string; title: string }[] }).tasks;
    await tasks();
    await outside(`update tasks set title = 'Edited behind the service' where id = 'digits-mlp'`);
    await expect.poll(async () => (await tasks()).find((t) => t.id === 'digits-mlp')?.title, { timeout: 5_000, interval: 20 }).toBe(
      'Edited behind the service',
    );

    const firstVerified = async () => (await getTaskPage(ctx, 'digits-mlp')).history[0]?.claimId;
    const chartStart = await firstVerified();
    await outside(`update verdicts set decided_at = '2000-01-01T00:00:00Z' where claim_id = $1 and status = 'verified'`, [id]);
    await expect.poll(firstVerified, { timeout: 5_000, interval: 20 }).toBe(id);
    expect(chartStart).not.toBe(id);
  });

  it('answers If-None-Match with 304 while the board is unchanged, and with the new board after a change', async () => {
    const first = await app.request('/v1/tasks/digits-mlp/leaderboard');
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(first.headers.get('content-type')).toMatch(/^application\/json/);
    const same = await app.request('/v1/tasks/digits-mlp/leaderboard', { headers: { 'if-none-match': etag } });
    expect(same.status).toBe(304);
    expect(await same.text()).toBe('');
    await verifiedClaim(98);
    const changed = await app.request('/v1/tasks/digits-mlp/leaderboard', { headers: { 'if-none-match': etag } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
  });

  it('does not keep a fill as current when a change commits while it runs', async () => {
    const id = await verifiedClaim(70);
    const metric = async () => Number((await outside(`select metric_value as v from claims where id = $1`, [id]))[0]!.v);
    const raced = await cache.read(`probe:${id}`, async () => {
      const read = await metric();
      const generation = cache.generation;
      await outside(`update claims set metric_value = 71 where id = $1`, [id]);
      await expect.poll(() => cache.generation, { timeout: 5_000, interval: 5 }).toBeGreaterThan(generation);
      return read;
    });
    expect(raced).toBe(70);
    expect(await cache.read(`probe:${id}`, metric)).toBe(71);
    expect(await metricOf(id)).toBe(71);
  });

  it('stops serving from memory when the listener is lost, and forgets everything when it listens again', async () => {
    const id = await verifiedClaim(80);
    expect(await metricOf(id)).toBe(80);
    expect(await metricOf(id)).toBe(80);
    const generation = cache.generation;
    if (kind === 'pglite') {
      // One in-process session: nothing to lose. The handlers' contract, with an edit while "lost".
      const h = cache.handlers();
      h.onLost();
      expect(cache.active).toBe(false);
      await outside(`update claims set metric_value = 81 where id = $1`, [id]);
      expect(await metricOf(id)).toBe(81);
      h.onListen();
    } else {
      // Cut the listening connection and edit while it is down: that edit's notification goes to nobody.
      const [cut] = await outside(
        `select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where application_name = 'proofboard-listen' and datname = current_database()`,
      );
      expect(cut!.n).toBe(1);
      await outside(`update claims set metric_value = 81 where id = $1`, [id]);
      await expect.poll(() => cache.generation, { timeout: 5_000, interval: 10 }).toBeGreaterThan(generation + 1);
      await expect.poll(() => cache.active, { timeout: 10_000, interval: 20 }).toBe(true);
      expect(await metricOf(id)).toBe(81);
    }
    expect(cache.generation).toBeGreaterThan(generation + 1);
    // Listening again, the cache works again.
    await metricOf(id);
    const before = cache.stats().hits;
    await metricOf(id);
    expect(cache.stats().hits).toBeGreaterThan(before);
  });
});

/** A TCP proxy that can go silent (forwards nothing either way) without closing anything: a half-open connection. */
async function silentableProxy(target: { host: string; port: number }) {
  let silent = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((down) => {
    const up = new Socket();
    up.connect(target.port, target.host);
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        down.destroy();
        up.destroy();
      });
    }
    down.on('data', (d) => void (silent || up.write(d)));
    up.on('data', (d) => void (silent || down.write(d)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    setSilent: (s: boolean) => void (silent = s),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe.skipIf(!process.env.TEST_DATABASE_URL)('PostgreSQL listener (listenPostgres)', () => {
  it('reports a connection that stops answering as lost, and listens again once it answers', async () => {
    const url = new URL(process.env.TEST_DATABASE_URL!);
    const proxy = await silentableProxy({ host: url.hostname, port: Number(url.port || 5432) });
    const through = new URL(url);
    through.port = String(proxy.port);
    const channel = `pb_test_${Date.now()}`;
    const events: string[] = [];
    const unlisten = await listenPostgres(
      through.toString(),
      channel,
      { onNotify: (p) => events.push(`notify ${p}`), onListen: () => events.push('listen'), onLost: () => events.push('lost') },
      { heartbeatMs: 100, deadlineMs: 300, retryMs: 50 },
    );
    const direct = postgres(url.toString(), { max: 1, onnotice: () => {} });
    try {
      expect(events).toEqual(['listen']);
      await direct`select pg_notify(${channel}, 'a')`;
      await expect.poll(() => events.at(-1), { timeout: 5_000 }).toBe('notify a');
      proxy.setSilent(true);
      await expect.poll(() => events.includes('lost'), { timeout: 5_000, interval: 20 }).toBe(true);
      await direct`select pg_notify(${channel}, 'lost on the way')`;
      proxy.setSilent(false);
      await expect.poll(() => events.filter((e) => e === 'listen').length, { timeout: 10_000, interval: 20 }).toBe(2);
      await direct`select pg_notify(${channel}, 'b')`;
      await expect.poll(() => events.at(-1), { timeout: 5_000 }).toBe('notify b');
      expect(events).not.toContain('notify lost on the way');
    } finally {
      await unlisten();
      await direct.end({ timeout: 5 });
      await proxy.close();
    }
    // Stopped: nothing more arrives, and no reconnect runs.
    const count = events.length;
    await new Promise((r) => setTimeout(r, 400));
    expect(events.length).toBe(count);
  }, 60_000);
});

describe('PROOFBOARD_READ_CACHE', () => {
  it('off: the service context never listens, so no read is served from memory; a value other than on/off is refused', async () => {
    expect(() => loadConfig({ PROOFBOARD_READ_CACHE: 'maybe' })).toThrow(/PROOFBOARD_READ_CACHE must be on or off/);
    const dir = mkdtempSync(join(tmpdir(), 'proofboard-read-cache-switch-'));
    const database = await openMemoryDatabase();
    try {
      for (const [env, active] of [[{ PROOFBOARD_READ_CACHE: 'off' }, false], [{}, true]] as const) {
        const ctx = await buildContext({ ...loadConfig(env), dataDir: dir }, database, loadSecrets(dir, {}));
        expect(ctx.readCache?.active, JSON.stringify(env)).toBe(active);
        if (!active) {
          await listTaskSummaries(ctx);
          await listTaskSummaries(ctx);
          expect(ctx.readCache!.stats()).toMatchObject({ hits: 0, misses: 0, off: 2 });
        }
      }
    } finally {
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
