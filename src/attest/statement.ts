// A verifier's signed re-run result: an in-toto Statement v1 (in-toto/attestation spec/v1/statement.md) inside a
// DSSE envelope with payloadType application/vnd.in-toto+json (spec/v1/envelope.md). The subject is the git commit
// (DigestSet `gitCommit`, spec/v1/digest_set.md) and, where training produced one, the model artifact by sha256.
// The predicate is ours: https://proofboard.dev/replay-result/v1.
import { z } from 'zod';
import { utf8 } from './bytes.ts';
import { commitSchema, taskIdSchema } from './claim.ts';
import { addDsseSignature, signDsse, type DsseEnvelope } from './dsse.ts';
import { firstIssue } from './validation.ts';
import { parseStrictJson } from './strict-json.ts';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const IN_TOTO_STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
/** Major version in the URI (in-toto spec/v1 README "Versioning"): a breaking change gets /v2, never a silent edit. */
export const REPLAY_RESULT_PREDICATE_TYPE = 'https://proofboard.dev/replay-result/v1';
/** An honest statement is about 1.5 KiB with 64 runs; the cap bounds JSON parsing of signed-but-hostile payloads. */
export const MAX_STATEMENT_BYTES = 16 * 1024;
export const MAX_RUNS = 64;

const sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex (SHA-256)');
const shortText = (max: number) => z.string().min(1).max(max).regex(/^[\x20-\x7e]+$/, 'printable ASCII only');
const timestampSchema = z.iso.datetime({ offset: false });

/**
 * The generic Statement layer, as any in-toto consumer reads it. Per the spec's parsing rules, unknown fields are
 * ignored here; the predicate-specific schema below is strict.
 */
export const inTotoStatementSchema = z.looseObject({
  _type: z.literal(IN_TOTO_STATEMENT_TYPE),
  subject: z
    .array(
      z.looseObject({
        name: z.string().optional(),
        digest: z.record(z.string(), z.string()).refine((d) => Object.keys(d).length > 0, 'digest must not be empty'),
      }),
    )
    .min(1),
  predicateType: z.string().min(1),
  predicate: z.record(z.string(), z.unknown()).optional(),
});

export const runSchema = z
  .object({
    // uint32 seeds: every training framework accepts them, and JSON numbers represent them exactly.
    seed: z.number().int().min(0).max(0xffff_ffff),
    // Same bounds as the claimed metric (claim.ts): finite, so NaN/Infinity can never sit inside a mean.
    value: z.number().finite().gte(-1e12).lte(1e12),
  })
  .strict();

export const environmentSchema = z
  .object({
    gpu: z.union([z.literal('cpu'), z.object({ model: shortText(128), count: z.number().int().min(1).max(64) }).strict()]),
    /** GPU driver version, null on CPU. */
    driver: shortText(64).nullable(),
    /** Runtime versions by name, e.g. { python: "3.12.3", torch: "2.5.1", cuda: "12.4" }. */
    runtimes: z
      .record(z.string().regex(/^[a-z][a-z0-9_.-]{0,31}$/), shortText(64))
      .refine((r) => Object.keys(r).length <= 16, 'at most 16 runtimes'),
    runnerVersion: shortText(64),
    harnessSha256: sha256HexSchema,
    datasetSha256: sha256HexSchema,
    sandboxProfileSha256: sha256HexSchema,
  })
  .strict();

export const replayResultPredicateSchema = z
  .object({
    task: taskIdSchema,
    /** The claim this result answers (claimIdOf in claim.ts): binds the attestation to one claim, not just a commit. */
    claimId: sha256HexSchema,
    metric: z.string().regex(/^[a-z][a-z0-9_]{0,31}$/),
    runs: z
      .array(runSchema)
      .min(1)
      .max(MAX_RUNS)
      // A repeated seed would let one run be counted twice in a mean or a t-test.
      .refine((runs) => new Set(runs.map((r) => r.seed)).size === runs.length, 'seeds must be distinct'),
    environment: environmentSchema,
    startedAt: timestampSchema,
    finishedAt: timestampSchema,
  })
  .strict()
  .refine((p) => Date.parse(p.finishedAt) >= Date.parse(p.startedAt), {
    message: 'finishedAt is before startedAt',
    path: ['finishedAt'],
  });

export type ReplayResultPredicate = z.infer<typeof replayResultPredicateSchema>;
export type Run = z.infer<typeof runSchema>;

const commitSubjectSchema = z.object({ name: z.literal('commit'), digest: z.object({ gitCommit: commitSchema }).strict() }).strict();
const modelSubjectSchema = z.object({ name: z.literal('model'), digest: z.object({ sha256: sha256HexSchema }).strict() }).strict();

/**
 * Our statement, strict at every level: we are its only producer, so an unknown field is a signer trying to say
 * something we would not read (in-toto's "ignore unknown fields" would let it pass unseen). Subject order is fixed:
 * the commit first, then the model, so there is one spelling of each statement.
 */
export const replayStatementSchema = z
  .object({
    _type: z.literal(IN_TOTO_STATEMENT_TYPE),
    subject: z.union([z.tuple([commitSubjectSchema]), z.tuple([commitSubjectSchema, modelSubjectSchema])]),
    predicateType: z.literal(REPLAY_RESULT_PREDICATE_TYPE),
    predicate: replayResultPredicateSchema,
  })
  .strict();

export type ReplayStatement = z.infer<typeof replayStatementSchema>;

export type ReplayStatementInput = {
  commit: string;
  /** SHA-256 (hex) of the model artifact that training produced and the harness evaluated, when there is one. */
  modelSha256?: string | null;
  predicate: ReplayResultPredicate;
};

/** Builds and validates a statement; throws a ZodError on invalid input (a bug in the caller, not a verdict). */
export function buildReplayStatement(input: ReplayStatementInput): ReplayStatement {
  const subject = [
    { name: 'commit', digest: { gitCommit: input.commit } },
    ...(input.modelSha256 ? [{ name: 'model', digest: { sha256: input.modelSha256 } }] : []),
  ];
  return replayStatementSchema.parse({
    _type: IN_TOTO_STATEMENT_TYPE,
    subject,
    predicateType: REPLAY_RESULT_PREDICATE_TYPE,
    predicate: input.predicate,
  });
}

/** The exact bytes a verifier signs. Verification never re-serialises: it parses the signed bytes. */
export function toStatementBytes(statement: ReplayStatement): Uint8Array {
  const bytes = utf8(JSON.stringify(replayStatementSchema.parse(statement)));
  if (bytes.length > MAX_STATEMENT_BYTES) throw new RangeError(`statement is ${bytes.length} bytes, over ${MAX_STATEMENT_BYTES}`);
  return bytes;
}

/** Signs a statement as a DSSE envelope. `keyid` is an unauthenticated hint (DSSE protocol.md, KEYID). */
export function signAttestation(statement: ReplayStatement, secretKey: Uint8Array, keyid?: string): DsseEnvelope {
  return signDsse(IN_TOTO_PAYLOAD_TYPE, toStatementBytes(statement), secretKey, keyid);
}

/**
 * Adds a co-signature to an existing envelope (t-of-n, DSSE protocol.md "Multi-signature Verification"). The
 * co-signer signs the exact payload bytes already in the envelope, so every signature covers one statement.
 */
export function coSignAttestation(envelope: DsseEnvelope, secretKey: Uint8Array, keyid?: string): DsseEnvelope {
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw new TypeError(`payloadType must be ${IN_TOTO_PAYLOAD_TYPE}`);
  return addDsseSignature(envelope, secretKey, keyid);
}

export type StatementParse =
  | { ok: true; statement: ReplayStatement }
  | { ok: false; reason: 'bad_statement' | 'wrong_predicate_type'; message: string };

/**
 * Parses signed payload bytes: size cap, strict UTF-8, JSON, the generic Statement layer, the predicate type, then our
 * strict schema. A predicate type we do not know is reported as such rather than as a malformed statement.
 */
export function parseReplayStatement(payload: Uint8Array): StatementParse {
  if (payload.length > MAX_STATEMENT_BYTES) {
    return { ok: false, reason: 'bad_statement', message: `statement over ${MAX_STATEMENT_BYTES} bytes` };
  }
  // Strict: a key spelled twice would make one signature say two things (src/attest/strict-json.ts).
  const strict = parseStrictJson(payload);
  if (!strict.ok) return { ok: false, reason: 'bad_statement', message: strict.message };
  const json = strict.value;
  const layer = inTotoStatementSchema.safeParse(json);
  if (!layer.success) return { ok: false, reason: 'bad_statement', message: firstIssue(layer.error, 'statement') };
  if (layer.data.predicateType !== REPLAY_RESULT_PREDICATE_TYPE) {
    return { ok: false, reason: 'wrong_predicate_type', message: `predicateType must be ${REPLAY_RESULT_PREDICATE_TYPE}` };
  }
  const parsed = replayStatementSchema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: 'bad_statement', message: firstIssue(parsed.error, 'statement') };
  return { ok: true, statement: parsed.data };
}
