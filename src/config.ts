// The settings proofboard reads from the environment (all documented in docs/configuration.md): every setting of the
// service here, and the server URL that the CLI's commands share. Read elsewhere, beside the code they configure: the
// service's secrets (src/service/storage/secrets.ts: keys and the operator token, which also live as files in the data folder),
// the CLI's key paths (src/cli/key-file.ts, src/cli/verifier-command.ts), the operator token that `admin` sends (src/cli/admin-command.ts), the
// recheck state path (src/recheck/state-file.ts) and the variables a verifier passes into its sandbox (--pass-env).
import { resolve } from 'node:path';

export type Config = {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  operatorToken: string | undefined;
  /** Largest accepted blob (git bundle) in bytes. */
  maxBlobBytes: number;
  /** Largest accepted JSON request body in bytes. */
  maxBodyBytes: number;
  /** Run one replay worker inside `serve` when the sandbox is available. */
  inProcessWorker: boolean;
  logLevel: string;
  /** The log's origin line in its checkpoints (C2SP tlog-checkpoint): it names the log forever. */
  logOrigin: string;
  /** Intake limits (issue: spam and Sybil resistance); documented in docs/configuration.md. */
  limits: {
    claimsPerKeyPerMinute: number;
    requestsPerAddressPerMinute: number;
    pendingPerKey: number;
  };
  /** How long a replay lease lasts without a heartbeat before another worker may take the job. */
  leaseMs: number;
  /** Take the client address from X-Forwarded-For (only behind a proxy that sets it). */
  trustProxy: boolean;
  /** Origin printed in the web page's recheck command; unset means the request's own origin. */
  publicUrl: string | undefined;
  /** Serve /bench/bare (bench/load.ts compares real routes against it). */
  benchRoutes: boolean;
  /** How long shutdown waits for in-flight requests before closing their connections. */
  shutdownGraceMs: number;
  /** Worker threads for Groth16 pairing checks; 0 checks on the event loop itself. */
  pairingThreads: number;
  /** Keep public reads in memory, kept true by the database's change notifications (docs/operators.md). */
  readCache: boolean;
  /** Witnesses asked to cosign each new checkpoint (C2SP tlog-witness; docs/transparency-log.md). */
  witnesses: WitnessConfig[];
  /** How often the service looks for a checkpoint its witnesses have not cosigned yet. */
  witnessIntervalMs: number;
};

/** A witness: its add-checkpoint URL prefix and its cosigner vkey (checked when the service starts). */
export type WitnessConfig = { url: string; vkey: string };

function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    port: intFromEnv(env, 'PORT', 8080, 0, 65535),
    host: env.HOST ?? '127.0.0.1',
    dataDir: dataDirFromEnv(env),
    databaseUrl: env.DATABASE_URL || undefined,
    operatorToken: env.PROOFBOARD_OPERATOR_TOKEN || undefined,
    maxBlobBytes: intFromEnv(env, 'PROOFBOARD_MAX_BLOB_BYTES', 64 * 1024 * 1024, 1024, 2 ** 40),
    maxBodyBytes: intFromEnv(env, 'PROOFBOARD_MAX_BODY_BYTES', 2 * 1024 * 1024, 1024, 64 * 1024 * 1024),
    inProcessWorker: (env.PROOFBOARD_WORKER ?? 'auto') !== 'off',
    logLevel: env.LOG_LEVEL ?? 'info',
    logOrigin: env.PROOFBOARD_LOG_ORIGIN ?? 'proofboard.local/log',
    limits: {
      claimsPerKeyPerMinute: intFromEnv(env, 'PROOFBOARD_CLAIMS_PER_KEY_PER_MINUTE', 30, 1, 1_000_000),
      requestsPerAddressPerMinute: intFromEnv(env, 'PROOFBOARD_REQUESTS_PER_ADDRESS_PER_MINUTE', 600, 1, 10_000_000),
      pendingPerKey: intFromEnv(env, 'PROOFBOARD_PENDING_PER_KEY', 10, 1, 1_000_000),
    },
    trustProxy: env.PROOFBOARD_TRUST_PROXY === '1',
    leaseMs: intFromEnv(env, 'PROOFBOARD_LEASE_MS', 60_000, 1_000, 3_600_000),
    publicUrl: publicUrlFromEnv(env.PROOFBOARD_PUBLIC_URL),
    benchRoutes: env.PROOFBOARD_BENCH_ROUTES === '1',
    shutdownGraceMs: intFromEnv(env, 'PROOFBOARD_SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    pairingThreads: intFromEnv(env, 'PROOFBOARD_PAIRING_THREADS', 1, 0, 64),
    readCache: onOffFromEnv(env, 'PROOFBOARD_READ_CACHE', true),
    witnesses: witnessesFromEnv(env.PROOFBOARD_WITNESSES),
    witnessIntervalMs: intFromEnv(env, 'PROOFBOARD_WITNESS_INTERVAL_MS', 2_000, 50, 3_600_000),
  };
}

/** The data folder; `admin` also looks there for the operator token that `serve` generated. */
export function dataDirFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.PROOFBOARD_DATA ?? './.proofboard');
}

/** The service the CLI's commands talk to unless --server says otherwise. */
export function serverUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env.PROOFBOARD_SERVER ?? 'http://127.0.0.1:8080';
}

function onOffFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'on' || raw === 'off') return raw === 'on';
  throw new Error(`${name} must be on or off, got ${JSON.stringify(raw)}`);
}

/** PROOFBOARD_WITNESSES: entries separated by commas or newlines, each "URL VKEY". */
function witnessesFromEnv(raw: string | undefined): WitnessConfig[] {
  if (!raw?.trim()) return [];
  return raw
    .split(/[,\n]/)
    .map((e) => e.trim())
    .filter((e) => e.length > 0)
    .map((entry) => {
      const [url, vkey, ...rest] = entry.split(/\s+/);
      if (!url || !vkey || rest.length) throw new Error(`PROOFBOARD_WITNESSES: each entry is "URL VKEY", got ${JSON.stringify(entry)}`);
      const parsed = new URL(url);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`PROOFBOARD_WITNESSES: ${url} is not an http(s) URL`);
      return { url: url.replace(/\/+$/, ''), vkey };
    });
}

function publicUrlFromEnv(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  const url = new URL(raw);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`PROOFBOARD_PUBLIC_URL must be an http(s) URL, got ${JSON.stringify(raw)}`);
  }
  return url.origin;
}
