// Process metrics that services and workers record as things happen (check latency, replay durations, sandbox
// kills). They live below the API so that recording never makes a service depend on HTTP; src/api/metrics.ts
// exposes them at /metrics together with the HTTP and database metrics.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const processRegistry = new Registry();
collectDefaultMetrics({ register: processRegistry, prefix: 'proofboard_' });

// Latency buckets from 1 ms (a cached read) to 10 s (a proof on a loaded machine).
export const FAST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
// Replays train models: seconds to hours.
const REPLAY_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400];

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

const readCacheLookups = new Counter({
  name: 'proofboard_read_cache_lookups_total',
  help: 'Cached public reads (leaderboard, task page, task list) by outcome: hit, miss, or off (not listening for changes, so not cached).',
  labelNames: ['outcome'] as const,
  registers: [processRegistry],
});

const readCacheInvalidations = new Counter({
  name: 'proofboard_read_cache_invalidations_total',
  help: 'Read-cache invalidations by cause: notification (the database reported a change), own_write (this process wrote), listen (listening began or resumed), lost (the notification connection closed).',
  labelNames: ['cause'] as const,
  registers: [processRegistry],
});

export type ReadCacheOutcome = 'hit' | 'miss' | 'off';
export type ReadCacheInvalidation = 'notification' | 'own_write' | 'listen' | 'lost';

// Bound once: a hit is counted on every cached read, so it should cost no label lookup.
const lookupCounters = {
  hit: readCacheLookups.labels({ outcome: 'hit' }),
  miss: readCacheLookups.labels({ outcome: 'miss' }),
  off: readCacheLookups.labels({ outcome: 'off' }),
};

export function countReadCacheLookup(outcome: ReadCacheOutcome): void {
  lookupCounters[outcome].inc();
}

export function countReadCacheInvalidation(cause: ReadCacheInvalidation): void {
  readCacheInvalidations.inc({ cause });
}

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

export function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

