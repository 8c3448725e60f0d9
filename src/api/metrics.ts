// Prometheus metrics. Two kinds:
// - process metrics that code calls as things happen (HTTP requests, check latency, replay durations, sandbox kills):
//   module-level, one set per process, so that any module can import and record without threading a handle around;
// - database gauges (claims by status and method, replay queue depth) read at scrape time from the service's own
//   database, so they stay true across restarts and across several API processes sharing one PostgreSQL.
import type { Context, MiddlewareHandler } from 'hono';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AppContext } from '../service/context.ts';
import { readServiceStats } from '../service/service-stats.ts';

export const processRegistry = new Registry();
collectDefaultMetrics({ register: processRegistry, prefix: 'proofboard_' });

// Latency buckets from 1 ms (a cached read) to 10 s (a proof on a loaded machine).
const FAST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
// Replays train models: seconds to hours.
const REPLAY_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400];

const httpRequests = new Counter({
  name: 'proofboard_http_requests_total',
  help: 'HTTP requests by method, route pattern and status code.',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [processRegistry],
});

const httpDuration = new Histogram({
  name: 'proofboard_http_request_duration_seconds',
  help: 'HTTP request latency by method and route pattern.',
  labelNames: ['method', 'route'] as const,
  buckets: FAST_BUCKETS,
  registers: [processRegistry],
});

const checkDuration = new Histogram({
  name: 'proofboard_check_duration_seconds',
  help: 'Latency of one cheap check (kind: zk, attestation, claim_signature) by outcome.',
  labelNames: ['kind', 'outcome'] as const,
  buckets: FAST_BUCKETS,
  registers: [processRegistry],
});

const replayDuration = new Histogram({
  name: 'proofboard_replay_duration_seconds',
  help: 'Wall time of one replay job on a worker (kind: replay or audit) by outcome.',
  labelNames: ['kind', 'outcome'] as const,
  buckets: REPLAY_BUCKETS,
  registers: [processRegistry],
});

const sandboxKills = new Counter({
  name: 'proofboard_sandbox_kills_total',
  help: 'Sandboxed runs ended by a limit (reason: cpu, wall, memory, pids, fsize, nofile, signal, ...).',
  labelNames: ['reason'] as const,
  registers: [processRegistry],
});

/** Record one cheap check. Call from the service or worker with the seconds it took. */
export function observeCheck(kind: string, outcome: string, seconds: number): void {
  checkDuration.observe({ kind, outcome }, seconds);
}

/** Time an async check and record it under the outcome its result names (or "error" when it throws). */
export async function timeCheck<T>(kind: string, run: () => Promise<T>, outcomeOf: (r: T) => string): Promise<T> {
  const start = process.hrtime.bigint();
  try {
    const result = await run();
    observeCheck(kind, outcomeOf(result), secondsSince(start));
    return result;
  } catch (e) {
    observeCheck(kind, 'error', secondsSince(start));
    throw e;
  }
}

export function observeReplay(kind: string, outcome: string, seconds: number): void {
  replayDuration.observe({ kind, outcome }, seconds);
}

export function countSandboxKill(reason: string): void {
  sandboxKills.inc({ reason });
}

function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/**
 * Counts requests by route *pattern* (never the raw path): an attacker requesting random URLs must not create
 * unbounded label values. Unmatched paths are all "unmatched".
 */
export function httpMetrics(): MiddlewareHandler {
  return async (c, next) => {
    const start = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const route = routeLabel(c);
      const method = methodLabel(c.req.method);
      httpRequests.inc({ method, route, status: String(c.res.status) });
      httpDuration.observe({ method, route }, secondsSince(start));
    }
  };
}

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

function routeLabel(c: Context): string {
  const path = c.req.routePath;
  return path && path !== '*' && path !== '/*' ? path : 'unmatched';
}

function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : 'OTHER';
}

/** The gauges read from the database at scrape time, in a registry of their own per app. */
export function databaseRegistry() {
  const registry = new Registry();
  const claims = new Gauge({
    name: 'proofboard_claims',
    help: 'Claims by task, status and verification method (method "none" for pending and rejected).',
    labelNames: ['task', 'status', 'method'] as const,
    registers: [registry],
  });
  const jobs = new Gauge({
    name: 'proofboard_replay_jobs',
    help: 'Replay jobs by kind (replay, audit) and state (queued, leased, done, failed).',
    labelNames: ['kind', 'state'] as const,
    registers: [registry],
  });
  const queueDepth = new Gauge({
    name: 'proofboard_replay_queue_depth',
    help: 'Replay jobs waiting for a worker (queued, any kind).',
    registers: [registry],
  });
  const logSize = new Gauge({ name: 'proofboard_log_size', help: 'Leaves in the transparency log.', registers: [registry] });
  const update = (s: Awaited<ReturnType<typeof readServiceStats>>) => {
    claims.reset();
    for (const r of s.claims) claims.set({ task: r.task, status: r.status, method: r.method ?? 'none' }, r.count);
    jobs.reset();
    for (const r of s.jobs) jobs.set({ kind: r.kind, state: r.state }, r.count);
    queueDepth.set(s.jobs.filter((j) => j.state === 'queued').reduce((n, j) => n + j.count, 0));
    logSize.set(s.logSize);
  };
  return { registry, update };
}

/** The /metrics handler: process metrics and this app's database gauges in the Prometheus text format. */
export function metricsHandler(ctx: AppContext) {
  const db = databaseRegistry();
  return async (c: Context) => {
    db.update(await readServiceStats(ctx));
    const merged = Registry.merge([processRegistry, db.registry]);
    c.header('content-type', merged.contentType);
    c.header('cache-control', 'no-store');
    return c.body(await merged.metrics());
  };
}
