// Operations: /metrics in the Prometheus text format, request ids and JSON log lines, graceful shutdown.
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type Api } from '../../src/api/app.ts';
import { countSandboxKill, observeCheck, observeReplay } from '../../src/service/instruments.ts';
import { drain, trackInFlight } from '../../src/server.ts';
import { makeTestContext } from '../helpers/context.ts';
import { seedLeaderboard } from './seed.ts';

describe('metrics and request logs', () => {
  let app: Api;
  let close: () => Promise<void>;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    const t = await makeTestContext('pglite');
    close = t.close;
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        done();
      },
    });
    app = createApp(t.ctx, { log: () => {}, logger: pino({ level: 'info' }, sink) });
    await seedLeaderboard(t.ctx, app);
  });
  afterAll(async () => close());

  it('exposes claims by status and method, queue depth, HTTP latency and the recorded histograms', async () => {
    observeCheck('zk', 'verified', 0.02);
    observeReplay('replay', 'agreed', 42);
    countSandboxKill('memory');
    await app.request('/tasks/digits-mlp');
    const res = await app.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('proofboard_claims{task="digits-mlp",status="verified",method="replayed"} 1');
    expect(text).toContain('proofboard_claims{task="digits-mlp",status="disputed",method="none"} 1');
    expect(text).toMatch(/proofboard_replay_queue_depth 1\n/);
    expect(text).toMatch(/proofboard_replay_jobs\{kind="replay",state="leased"\} 1/);
    expect(text).toMatch(/proofboard_log_size \d+/);
    expect(text).toMatch(/proofboard_http_requests_total\{method="GET",route="\/tasks\/:id",status="200"\} \d+/);
    expect(text).toContain('proofboard_check_duration_seconds_bucket{le="0.025",kind="zk",outcome="verified"} 1');
    expect(text).toContain('proofboard_replay_duration_seconds_count{kind="replay",outcome="agreed"} 1');
    expect(text).toContain('proofboard_sandbox_kills_total{reason="memory"} 1');
    // The seeded board was stored through the intake: its batches are counted.
    expect(Number(/proofboard_intake_batches_total (\d+)/.exec(text)?.[1])).toBeGreaterThan(0);
    expect(text).toMatch(/proofboard_zk_pooled_checks_total \d+/);
  });

  it('labels unknown paths as one route, so random URLs cannot grow the label set', async () => {
    await app.request('/no/such/path/1');
    await app.request('/no/such/path/2');
    const text = await (await app.request('/metrics')).text();
    expect(text).not.toContain('/no/such/path');
    expect(text).toMatch(/route="unmatched",status="404"/);
  });

  it('echoes a plain client request id, replaces a hostile one, and logs one JSON line per request', async () => {
    const given = await app.request('/healthz', { headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers.get('x-request-id')).toBe('abc-123');
    const hostile = await app.request('/healthz', { headers: { 'x-request-id': 'a\u00e9"}{' + 'x'.repeat(300) } });
    const replaced = hostile.headers.get('x-request-id')!;
    expect(replaced).toMatch(/^[0-9a-f-]{36}$/);
    const line = lines.find((l) => l.reqId === 'abc-123')!;
    expect(line).toMatchObject({ method: 'GET', path: '/healthz', status: 200, msg: 'request' });
    expect(lines.some((l) => l.reqId === replaced)).toBe(true);
  });
});

describe('graceful shutdown', () => {
  it('finishes a request in flight, refuses new connections, then resolves', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const inFlight = new Promise<void>((r) => (started = r));
    const app = new Hono().get('/slow', async (c) => {
      started();
      await gate;
      return c.text('done');
    });
    const server: ServerType = await new Promise((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    const address = server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const slow = fetch(`${url}/slow`).then(async (r) => [r.status, await r.text()] as const);
    await inFlight;
    const drained = drain(server, 60_000, pino({ level: 'silent' }));
    await expect(fetch(`${url}/slow`)).rejects.toThrow();
    release();
    expect(await slow).toEqual([200, 'done']);
    await drained;
  });

  it('waits for a handler whose client hung up before closing anything under it', async () => {
    const events: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const inHandler = new Promise<void>((r) => (started = r));
    const app = new Hono().get('/slow', async (c) => {
      started();
      await gate;
      events.push('handler done');
      return c.text('done');
    });
    const inFlight = trackInFlight(app.fetch);
    const server: ServerType = await new Promise((resolve) => {
      const s = serve({ fetch: inFlight.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    const address = server.address();
    const abort = new AbortController();
    const request = fetch(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/slow`, { signal: abort.signal }).catch(() => 'aborted');
    await inHandler;
    abort.abort();
    expect(await request).toBe('aborted');
    const serverClosed = new Promise((r) => server.once('close', r));
    const drained = drain(server, 60_000, pino({ level: 'silent' }), inFlight).then(() => events.push('drained'));
    // The connection is gone and the server has closed: only the running handler may keep the drain waiting now.
    await serverClosed;
    await new Promise((r) => setImmediate(r));
    expect(inFlight.active()).toBe(1);
    release();
    await drained;
    expect(events).toEqual(['handler done', 'drained']);
  });
});
