// The replay worker: leases jobs from a proofboard server over HTTP with signed requests, runs them in the local
// sandbox, and posts a signed attestation (or a signed failure). The service's own worker and a remote operator's
// GPU machine run this same loop.
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { toHex } from '../attest/bytes.ts';
import { toInertText } from '../attest/inert-text.ts';
import { ed25519PublicKey } from '../attest/ed25519.ts';
import { signAttestation } from '../attest/statement.ts';
import { taskPolicySchema } from '../attest/policy.ts';
import { taskPackSchema, type PackFile } from '../attest/task-pack.ts';
import { runReplayJob, type JobInput, type MachineConfig } from './run-job.ts';
import type { PackFileSource } from './pack-files.ts';
import { removeStaleJobCgroups } from './sandbox-cgroup.ts';
import { sweepStaleJobFolders } from './work-folder.ts';
import { leaseResponseSchema, newWorkerInstanceId, signWorkerRequest, type LeasedJob, type WorkerRequest } from '../attest/worker-request.ts';
import { firstIssue } from '../attest/validation.ts';

export type WorkerOptions = {
  server: string;
  secretKey: Uint8Array;
  gpus?: number;
  tasks?: string[];
  /** This machine's sandbox settings (toolchain folders, driver environment): see MachineConfig. */
  machine?: MachineConfig;
  /** The environment the caller already measured with describeEnvironment(gpus); measured here when absent. */
  environment?: JobInput['environment'];
  /** Stop after the queue is found empty once (tests, cron-style use). */
  once?: boolean;
  pollMs?: number;
  /** Fixed heartbeat interval; by default a third of the lease the server granted (PROOFBOARD_LEASE_MS), at most 15 s. */
  heartbeatMs?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
};

export async function runWorker(opts: WorkerOptions): Promise<{ jobs: number }> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const instance = newWorkerInstanceId();
  const gpus = opts.gpus ?? 0;
  const sign = (body: Omit<WorkerRequest, 'v' | 'verifierKey' | 'createdAt' | 'gpus' | 'worker'>) =>
    signWorkerRequest(opts.secretKey, { ...body, worker: instance, gpus });
  // Measured once, before any job: a worker that cannot see the GPUs it was told to use refuses to start rather than
  // sign an environment it never measured.
  const environment = opts.environment ?? describeEnvironment(gpus);
  log(`worker ${toHex(ed25519PublicKey(opts.secretKey)).slice(0, 16)}…/${instance} polling ${opts.server}`);
  // A worker killed mid-job (SIGKILL, OOM) left its job's empty cgroups behind; sweep them before taking more.
  const swept = await removeStaleJobCgroups().catch(() => 0);
  if (swept > 0) log(`removed ${swept} empty job cgroup(s) left by an earlier worker`);
  // ... and its job folders (a live worker's are left alone: each folder records the process that owns it).
  const folders = await sweepStaleJobFolders().catch((e: Error) => (log(`could not sweep old job folders: ${e.message}`), 0));
  if (folders > 0) log(`removed ${folders} job folder(s) left by an earlier worker`);
  let jobs = 0;
  while (!opts.signal?.aborted) {
    let job: LeasedJob | null;
    try {
      job = parseLease(await post(opts.server, '/v1/replay/lease', { request: sign({ action: 'lease', ...(opts.tasks ? { tasks: opts.tasks } : {}) }) }));
    } catch (e) {
      // Unreachable, refused, or a lease that does not parse (the server's fault): wait and ask again. A job leased
      // in a malformed answer is not run; its lease expires and the server counts the attempt.
      log(`lease failed: ${(e as Error).message}`);
      if (opts.once) throw e;
      await sleep(opts.pollMs ?? 5000, undefined, { signal: opts.signal }).catch(() => {});
      continue;
    }
    if (!job) {
      if (opts.once) return { jobs };
      await sleep(opts.pollMs ?? 5000, undefined, { signal: opts.signal }).catch(() => {});
      continue;
    }
    jobs++;
    await runLeasedJob(opts, job, sign, environment, log);
  }
  return { jobs };
}

/** A lease answer that does not match the documented schema is refused before anything of it is used. */
export class MalformedLeaseError extends Error {
  override readonly name = 'MalformedLeaseError';
}

export function parseLease(body: unknown): LeasedJob | null {
  const parsed = leaseResponseSchema.safeParse(body);
  if (parsed.success) return parsed.data.job;
  throw new MalformedLeaseError(`the server's lease answer is malformed (${toInertText(firstIssue(parsed.error, 'body'))})`);
}

async function runLeasedJob(
  opts: WorkerOptions,
  job: LeasedJob,
  sign: (body: Omit<WorkerRequest, 'v' | 'verifierKey' | 'createdAt' | 'gpus' | 'worker'>) => unknown,
  environment: JobInput['environment'],
  log: (line: string) => void,
) {
  log(`job ${job.jobId} (${job.kind}) claim ${job.claim.id.slice(0, 12)}… commit ${job.claim.commit.slice(0, 12)}`);
  // Stopping mid-job hands the job back at once instead of leaving it to lease expiry; a result that arrives
  // after that is refused by the server (lease lost), so the claim still gets exactly one verdict.
  let handedBack: Promise<unknown> = Promise.resolve();
  const handBack = () => {
    handedBack = post(opts.server, `/v1/replay/jobs/${job.jobId}/fail`, {
      request: sign({ action: 'fail', jobId: job.jobId, failure: { code: 'infrastructure', message: 'worker shutting down' } }),
    }).catch((e: Error) => log(`job ${job.jobId}: could not hand it back (${e.message}); its lease will expire`));
  };
  opts.signal?.addEventListener('abort', handBack, { once: true });
  // Heartbeats keep the lease while the job runs; if this process dies they stop and the lease expires.
  const heartbeat = setInterval(() => {
    post(opts.server, `/v1/replay/jobs/${job.jobId}/heartbeat`, { request: sign({ action: 'heartbeat', jobId: job.jobId }) }).catch((e) =>
      log(`heartbeat failed: ${(e as Error).message}`),
    );
  }, opts.heartbeatMs ?? heartbeatInterval(job.leaseExpiresAt));
  try {
    const started = Date.now();
    const bundle = await download(opts.server, `/v1/blobs/${job.claim.bundle}`);
    const policy = taskPolicySchema.parse(job.task.policy);
    // A pack that does not parse is the server's fault: thrown, and the job goes back (infrastructure).
    const pack = job.task.pack === undefined || job.task.pack === null ? undefined : taskPackSchema.parse(job.task.pack);
    const running = runReplayJob({
      claimId: job.claim.id,
      task: job.task.id,
      commit: job.claim.commit,
      metricName: job.claim.metric.name,
      bundle,
      bundleSha256: job.claim.bundle.slice('sha256:'.length),
      policy,
      replay: job.task.replay,
      ...(pack ? { pack: { pack, source: packFileSource(opts.server, job.jobId, sign) } } : {}),
      gpus: (opts.gpus ?? 0) > 0,
      environment,
      ...(opts.machine ? { machine: opts.machine } : {}),
      onProgress: (stage) => log(`job ${job.jobId}: ${stage}`),
      onCleanupError: (e) => log(`job ${job.jobId}: its folder could not be removed (swept at the next start): ${e.message}`),
    });
    // Stopping never waits for a job: it was handed back above, and its sandbox dies with this process.
    const outcome = await unlessAborted(running, opts.signal);
    if (outcome === ABORTED) {
      await handedBack;
      return;
    }
    if (outcome.ok) {
      const pub = toHex(ed25519PublicKey(opts.secretKey));
      const attestation = signAttestation(outcome.statement, opts.secretKey, pub);
      const res = await postResult<{ outcome: string }>(opts, `/v1/replay/jobs/${job.jobId}/complete`, log, () => ({
        request: sign({ action: 'complete', jobId: job.jobId }),
        attestation,
      }));
      log(`job ${job.jobId}: measured ${outcome.runs.map((r) => r.value).join(', ')} (claimed ${job.claim.metric.value}): ${res.outcome} in ${Date.now() - started} ms`);
    } else {
      await postResult(opts, `/v1/replay/jobs/${job.jobId}/fail`, log, () => ({
        request: sign({ action: 'fail', jobId: job.jobId, failure: {
            code: outcome.code,
            message: toInertText(outcome.message).slice(0, 2000),
            ...(outcome.killReason && outcome.killReason !== 'none' ? { killReason: outcome.killReason as 'wall_time' } : {}),
          },
        }),
      }));
      log(`job ${job.jobId}: ${outcome.code}: ${outcome.message.slice(0, 200)}`);
    }
    clearInterval(heartbeat);
  } catch (e) {
    clearInterval(heartbeat);
    if (opts.signal?.aborted) return;
    log(`job ${job.jobId}: worker error: ${(e as Error).message}`);
    // Our own trouble: hand the job back so another worker can take it now rather than at lease expiry.
    await post(opts.server, `/v1/replay/jobs/${job.jobId}/fail`, {
      request: sign({ action: 'fail', jobId: job.jobId, failure: { code: 'infrastructure', message: toInertText((e as Error).message).slice(0, 2000) } }),
    }).catch(() => {});
  } finally {
    clearInterval(heartbeat);
    opts.signal?.removeEventListener('abort', handBack);
  }
}

const RESULT_ATTEMPTS = 30;
const RESULT_RETRY_MS = 2_000;

/**
 * Posts a finished job's result, retrying for about a minute while the server cannot be reached or answers 503 (its
 * database restarting): a restart of either must not throw away a finished (GPU) job. Heartbeats go on meanwhile, so a short outage leaves the lease alive.
 * Any HTTP answer ends the retries, `409 lease_lost` included. The request is signed afresh for each attempt.
 */
async function postResult<T = unknown>(opts: WorkerOptions, path: string, log: (line: string) => void, body: () => unknown): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await post<T>(opts.server, path, body());
    } catch (e) {
      // fetch rejects with a TypeError when no HTTP answer came back; a 503 means the server is up but its database is
      // not (a restart): both pass. Any other answer is final.
      const passing = e instanceof TypeError || (e instanceof HttpError && e.status === 503);
      if (!passing || attempt >= RESULT_ATTEMPTS || opts.signal?.aborted) throw e;
      log(`${path}: server unavailable (${e instanceof TypeError ? ((e.cause as Error | undefined)?.message ?? e.message) : e.message}); retrying`);
      await sleep(RESULT_RETRY_MS, undefined, { signal: opts.signal }).catch(() => {});
    }
  }
}

/**
 * A third of the lease the server just granted, so that two heartbeats can be lost before it runs out. Read from
 * the expiry against this machine's clock: a skewed clock shortens the interval (down to 1 s), never stretches it
 * past 15 s.
 */
export function heartbeatInterval(leaseExpiresAt: string | undefined, now = Date.now()): number {
  const remaining = leaseExpiresAt ? Date.parse(leaseExpiresAt) - now : Number.NaN;
  if (!Number.isFinite(remaining)) return 15_000;
  return Math.min(15_000, Math.max(1_000, Math.floor(remaining / 3)));
}

/** A worker asked for GPUs that this machine cannot show: it must not start (its attestations would lie). */
export class GpuUnavailableError extends Error {
  override readonly name = 'GpuUnavailableError';
}

/**
 * What this machine is, as measured: Node's and Python's versions, and with `gpus > 0` the NVIDIA devices that
 * answer `nvidia-smi` (model, driver, and how many are passed into each job: all of them, as the sandbox mounts every
 * /dev/nvidia* node). Throws GpuUnavailableError when fewer than `gpus` devices answer; never guesses.
 */
export function describeEnvironment(gpus: number, querySmi: () => string = queryNvidiaSmi): JobInput['environment'] {
  const runtimes: Record<string, string> = { node: process.versions.node };
  try {
    runtimes.python = execFileSync('/usr/bin/python3', ['-c', 'import platform; print(platform.python_version())'], { encoding: 'utf8' }).trim();
  } catch {
    // No Python here: the task's training command will fail and say so.
  }
  if (gpus === 0) return { gpu: 'cpu', driver: null, runtimes };
  let text: string;
  try {
    text = querySmi();
  } catch (e) {
    throw new GpuUnavailableError(`--gpus ${gpus}: nvidia-smi does not answer on this machine (${(e as Error).message.split('\n')[0]})`);
  }
  const devices = text
    .split('\n')
    .map((line) => line.split(',').map((field) => field.trim()))
    .filter(([model, driver]) => model && driver);
  if (devices.length < gpus) throw new GpuUnavailableError(`--gpus ${gpus}: only ${devices.length} NVIDIA device(s) answer nvidia-smi`);
  const models = [...new Set(devices.map(([model]) => model!))];
  return { gpu: { model: models.join(' + '), count: devices.length }, driver: devices[0]![1]!, runtimes };
}

function queryNvidiaSmi(): string {
  return execFileSync('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader'], { encoding: 'utf8', timeout: 30_000 });
}

const ABORTED = Symbol('aborted');

/** `work`'s value, or ABORTED as soon as `signal` fires (the work itself goes on, unawaited). */
async function unlessAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T | typeof ABORTED> {
  if (!signal) return work;
  if (signal.aborted) return ABORTED;
  let onAbort = () => {};
  const stopped = new Promise<typeof ABORTED>((resolve) => (onAbort = () => resolve(ABORTED)));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await Promise.race([work, stopped]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function post<T = unknown>(server: string, path: string, body: unknown): Promise<T> {
  const res = await fetch(new URL(path, server), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new HttpError(res.status, `${path}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/**
 * Downloads one file of the leased job's task pack: a signed `fetch` naming the job and the file, answered only while
 * this worker holds the lease (hidden evaluation data included). The bytes are checked against the pin as they are
 * written (pack-files.ts), so a server or proxy that sends others is caught before any sandbox sees them.
 */
function packFileSource(server: string, jobId: number, sign: (body: Omit<WorkerRequest, 'v' | 'verifierKey' | 'createdAt' | 'gpus' | 'worker'>) => unknown): PackFileSource {
  return async (file: PackFile) => {
    const res = await fetch(new URL(`/v1/replay/jobs/${jobId}/pack-files/sha256:${file.sha256}`, server), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request: sign({ action: 'fetch', jobId, file: file.sha256 }) }),
    });
    if (!res.ok || !res.body) throw new HttpError(res.status, `pack file ${file.path}: ${res.status} ${(await res.text()).slice(0, 300)}`);
    return res.body as unknown as AsyncIterable<Uint8Array>;
  };
}

async function download(server: string, path: string): Promise<Buffer> {
  const res = await fetch(new URL(path, server));
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}
