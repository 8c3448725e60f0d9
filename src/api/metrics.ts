// Prometheus metrics. Two kinds:
// - process metrics that code calls as things happen (HTTP requests, check latency, replay durations, sandbox kills):
//   module-level, one set per process, so that any module can import and record without threading a handle around;
// - database gauges (claims by status and method, replay queue depth) read at scrape time from the service's own
//   database, so they stay true across restarts and across several API processes sharing one PostgreSQL.
import type { Context, MiddlewareHandler } from 'hono';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AppContext } from '../service/context.ts';
import { FAST_BUCKETS, processRegistry, secondsSince } from '../service/instruments.ts';
import { readServiceStats } from '../service/views/service-stats.ts';
import { intakeBatchStats } from '../service/actions/intake-batch.ts';
import { zkPoolStats } from '../service/judging/judge-zk.ts';

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

/**
 * How much the intake's grouping actually groups, from the counts its two stages keep: claims per committed batch and
 * per pooled pairing check are the ratios of these pairs. Near 1 means light traffic (nothing waits for company).
 */
function groupingCounters(ctx: AppContext, registry: Registry): void {
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  counter('proofboard_intake_batches_total', 'Intake transactions committed (one per batch of claims that arrived together).', () => intakeBatchStats(ctx).batches);
  counter('proofboard_intake_batch_claims_total', 'Claims in the committed intake batches.', () => intakeBatchStats(ctx).claims);
  counter('proofboard_zk_pooled_checks_total', 'Pooled Groth16 pairing checks run at intake.', () => zkPoolStats().checks);
  counter('proofboard_zk_pooled_claims_total', 'Claims covered by the pooled pairing checks.', () => zkPoolStats().claims);
}

/** The /metrics handler: process metrics and this app's database gauges in the Prometheus text format. */
export function metricsHandler(ctx: AppContext) {
  const db = databaseRegistry();
  groupingCounters(ctx, db.registry);
  return async (c: Context) => {
    db.update(await readServiceStats(ctx));
    const merged = Registry.merge([processRegistry, db.registry]);
    c.header('content-type', merged.contentType);
    c.header('cache-control', 'no-store');
    return c.body(await merged.metrics());
  };
}
