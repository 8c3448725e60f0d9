// Signed worker requests: how a verifier worker, local or on a remote operator's GPU machine, leases, heartbeats,
// completes and fails replay jobs over HTTP. A DSSE envelope signed by the worker's verifier key; the payload type
// keeps these signatures from ever counting as claims or attestations.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { fromHex, toHex, utf8, EncodingError } from '../attest/bytes.ts';
import { decodeDsse, dsseEnvelopeSchema, signDsse, verifyDsseSignature, type DsseEnvelope } from '../attest/dsse.ts';
import { ed25519PublicKey } from '../attest/ed25519.ts';
import { publicKeyHexSchema, taskIdSchema } from '../attest/claim.ts';

export const WORKER_REQUEST_PAYLOAD_TYPE = 'application/vnd.proofboard.worker-request.v1+json';
/** How far a request's createdAt may be from the server's clock: bounds how long a captured request can be replayed. */
export const MAX_REQUEST_AGE_MS = 2 * 60 * 1000;

export const FAILURE_CODES = ['bad_bundle', 'training_failed', 'harness_failed', 'infrastructure'] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

export const workerRequestSchema = z
  .object({
    v: z.literal(1),
    action: z.enum(['lease', 'heartbeat', 'complete', 'fail']),
    verifierKey: publicKeyHexSchema,
    worker: z.string().regex(/^[0-9a-f]{16}$/),
    jobId: z.number().int().positive().optional(),
    tasks: z.array(taskIdSchema).max(100).optional(),
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
  const shape = dsseEnvelopeSchema.safeParse(untrusted);
  if (!shape.success || shape.data.signatures.length !== 1) return { ok: false, reason: 'bad_envelope', message: 'expected a DSSE envelope with one signature' };
  if (shape.data.payloadType !== WORKER_REQUEST_PAYLOAD_TYPE) {
    return { ok: false, reason: 'wrong_payload_type', message: `payloadType must be ${WORKER_REQUEST_PAYLOAD_TYPE}` };
  }
  let decoded;
  let publicKey: Uint8Array;
  try {
    decoded = decodeDsse(shape.data);
    publicKey = fromHex(shape.data.signatures[0]!.keyid ?? '', 'keyid', 32);
  } catch (e) {
    if (e instanceof EncodingError) return { ok: false, reason: 'bad_envelope', message: e.message };
    throw e;
  }
  if (!verifyDsseSignature(decoded, decoded.signatures[0]!.sig, publicKey, 'strict')) {
    return { ok: false, reason: 'bad_signature', message: 'worker request signature does not verify' };
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(decoded.payload));
  } catch {
    return { ok: false, reason: 'bad_request', message: 'payload is not UTF-8 JSON' };
  }
  const parsed = workerRequestSchema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: 'bad_request', message: parsed.error.issues[0]?.message ?? 'invalid request' };
  if (parsed.data.verifierKey !== shape.data.signatures[0]!.keyid) {
    return { ok: false, reason: 'bad_signature', message: 'verifierKey differs from the signing key' };
  }
  // A captured request replayed later is refused once it is older than the window.
  const age = Math.abs(now.getTime() - Date.parse(parsed.data.createdAt));
  if (age > MAX_REQUEST_AGE_MS) return { ok: false, reason: 'stale_request', message: `request time is ${Math.round(age / 1000)} s from the server's clock` };
  return { ok: true, request: parsed.data };
}
