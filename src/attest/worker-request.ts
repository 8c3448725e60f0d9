// Signed worker requests: how a verifier worker, local or on a remote operator's GPU machine, leases, heartbeats,
// completes and fails replay jobs over HTTP. A DSSE envelope signed by the worker's verifier key; the payload type
// keeps these signatures from ever counting as claims or attestations. Also the lease the server answers with, so the
// route that documents it (src/api/routes/replay.ts) and the worker that parses it (src/replay/worker.ts) share one schema.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { toHex, utf8 } from './bytes.ts';
import { openSingleSignerEnvelope, signDsse, type DsseEnvelope } from './dsse.ts';
import { firstIssue } from './validation.ts';
import { ed25519PublicKey } from './ed25519.ts';
import { parseStrictJson } from './strict-json.ts';
import { commitSchema, publicKeyHexSchema, sha256RefSchema, taskIdSchema } from './claim.ts';

export const WORKER_REQUEST_PAYLOAD_TYPE = 'application/vnd.proofboard.worker-request.v1+json';
/** How far a request's createdAt may be from the server's clock: bounds how long a captured request can be replayed. */
export const MAX_REQUEST_AGE_MS = 2 * 60 * 1000;

export const FAILURE_CODES = ['bad_bundle', 'training_failed', 'harness_failed', 'infrastructure'] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

export const workerRequestSchema = z
  .object({
    v: z.literal(1),
    // fetch: download one file of the leased job's task pack (its harness, hidden evaluation data or training data).
    action: z.enum(['lease', 'heartbeat', 'complete', 'fail', 'fetch']),
    verifierKey: publicKeyHexSchema,
    worker: z.string().regex(/^[0-9a-f]{16}$/),
    jobId: z.number().int().positive().optional(),
    tasks: z.array(taskIdSchema).max(100).optional(),
    /** For `fetch`: the SHA-256 of the pack file, so a signature for one file cannot be used to download another. */
    file: z.string().regex(/^[0-9a-f]{64}$/).optional(),
    gpus: z.number().int().min(0).max(64).default(0),
    failure: z
      .object({
        code: z.enum(FAILURE_CODES),
        message: z.string().max(2000),
        // Which sandbox limit ended the training, when one did (counted in /metrics).
        killReason: z.enum(['wall_time', 'cpu_time', 'memory', 'output', 'file_size', 'disk']).optional(),
      })
      .strict()
      .optional(),
    createdAt: z.iso.datetime({ offset: false }),
  })
  .strict();

export type WorkerRequest = z.infer<typeof workerRequestSchema>;

export type WorkerRequestCheck =
  | { ok: true; request: WorkerRequest }
  | { ok: false; reason: 'bad_envelope' | 'wrong_payload_type' | 'bad_signature' | 'bad_request' | 'stale_request'; message: string };

export function newWorkerInstanceId(): string {
  return randomBytes(8).toString('hex');
}

export function signWorkerRequest(
  secretKey: Uint8Array,
  body: Omit<WorkerRequest, 'v' | 'verifierKey' | 'createdAt' | 'gpus'> & { gpus?: number },
  now = new Date(),
): DsseEnvelope {
  const verifierKey = toHex(ed25519PublicKey(secretKey));
  const payload: WorkerRequest = { v: 1, verifierKey, createdAt: now.toISOString(), gpus: 0, ...body };
  return signDsse(WORKER_REQUEST_PAYLOAD_TYPE, utf8(JSON.stringify(payload)), secretKey, verifierKey);
}

/** Checks signature (by the key the payload names), shape and freshness. Registry trust is the caller's next step. */
export function verifyWorkerRequest(untrusted: unknown, now: Date): WorkerRequestCheck {
  const opened = openSingleSignerEnvelope(untrusted, WORKER_REQUEST_PAYLOAD_TYPE, { what: 'worker request' });
  // No payload cap is passed (the envelope schema bounds the size), so payload_too_large cannot come back here.
  if (!opened.ok) return { ok: false, reason: opened.reason === 'payload_too_large' ? 'bad_envelope' : opened.reason, message: opened.message };
  // Strict: a key spelled twice would make one signature say two things (src/attest/strict-json.ts).
  const json = parseStrictJson(opened.payload);
  if (!json.ok) return { ok: false, reason: 'bad_request', message: json.message };
  const parsed = workerRequestSchema.safeParse(json.value);
  if (!parsed.success) return { ok: false, reason: 'bad_request', message: firstIssue(parsed.error, 'request') };
  if (parsed.data.verifierKey !== opened.keyid) {
    return { ok: false, reason: 'bad_signature', message: 'verifierKey differs from the signing key' };
  }
  // A captured request replayed later is refused once it is older than the window.
  const age = Math.abs(now.getTime() - Date.parse(parsed.data.createdAt));
  if (age > MAX_REQUEST_AGE_MS) return { ok: false, reason: 'stale_request', message: `request time is ${Math.round(age / 1000)} s from the server's clock` };
  return { ok: true, request: parsed.data };
}

/**
 * One leased replay job: what POST /v1/replay/lease answers. Objects are not strict: a server may add fields that an
 * older worker ignores. The task's policy and replay spec are parsed by the worker where it uses them
 * (taskPolicySchema, replaySpecSchema), so that a task this worker cannot run is handed back, not a lease refused.
 */
export const leasedJobSchema = z.object({
  jobId: z.number().int().positive(),
  /** `replay` for a claim no cheap evidence settled, `audit` for a cheaply verified claim drawn for re-running. */
  kind: z.string().max(32),
  /** 1 for the first lease of this job; more when earlier leases expired or were handed back. */
  attempt: z.number().int().positive(),
  /** The worker heartbeats well before this (a third of the time left) or loses the job. */
  leaseExpiresAt: z.iso.datetime({ offset: false }),
  claim: z.object({
    id: z.string().regex(/^[0-9a-f]{64}$/, 'claim id: 64 lowercase hex'),
    task: taskIdSchema,
    commit: commitSchema,
    parent: commitSchema.nullable(),
    metric: z.object({ name: z.string().max(32), value: z.number().finite() }),
    bundle: sha256RefSchema,
  }),
  /** `pack`: the task pack (task-pack.ts) when the task has one; absent from servers older than packs. */
  task: z.object({ id: taskIdSchema, policy: z.unknown(), replay: z.unknown(), pack: z.unknown().optional() }),
});

export type LeasedJob = z.infer<typeof leasedJobSchema>;

/** The body of a 200 from POST /v1/replay/lease: a job, or null when no job this worker may run is waiting. */
export const leaseResponseSchema = z.object({ job: leasedJobSchema.nullable() });
