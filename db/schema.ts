// One schema for both drivers (PGlite embedded, PostgreSQL through postgres.js). Migrations are generated from
// this file by drizzle-kit into db/migrations and committed.
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  customType,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const tasks = pgTable('tasks', {
  id: text('id').primaryKey(),
  title: text('title').notNull(),
  description: text('description').notNull().default(''),
  metricName: text('metric_name').notNull(),
  // 'higher' or 'lower': which way is better for the leaderboard.
  direction: text('direction').notNull(),
  // The attestation policy (quorum, tolerance, runs, seeds, beats-parent test): src/attest/policy.ts.
  policy: jsonb('policy').notNull(),
  // Fraction of cheaply verified claims replayed anyway, chosen by a keyed hash submitters cannot predict.
  auditFraction: doublePrecision('audit_fraction').notNull().default(0),
  // Base proof-of-work difficulty (leading zero bits) for claims that go to replay; raised with queue depth.
  stampBaseBits: integer('stamp_base_bits').notNull().default(0),
  // Replay harness and training command, interpreted by src/replay; null for tasks that accept no replay.
  replay: jsonb('replay'),
  evalSetCommitment: text('eval_set_commitment'),
  // The task pack (src/attest/task-pack.ts): harness, hidden evaluation data and training data pinned by SHA-256; null
  // for tasks registered before packs.
  pack: jsonb('pack'),
  // The log leaf that holds this task's definition with all its digests (src/attest/task-pack.ts taskDefinitionLeaf);
  // null for tasks registered before definitions were logged.
  definitionLogIndex: bigint('definition_log_index', { mode: 'number' }),
  createdAt: ts('created_at').notNull().defaultNow(),
});

export const circuits = pgTable('circuits', {
  id: text('id').primaryKey(),
  taskId: text('task_id').notNull().references(() => tasks.id),
  protocol: text('protocol').notNull(),
  // The verification key JSON as exact text: its SHA-256 pin is over these bytes (jsonb would reorder keys).
  vkey: text('vkey').notNull(),
  // The pin: a verification key is only used when its SHA-256 matches this value (never a client's key).
  vkeySha256: text('vkey_sha256').notNull(),
  params: jsonb('params').notNull().default(sql`'{}'::jsonb`),
  // What a prover needs, as blobs pinned by SHA-256 (src/zk/circuit-build.ts): the witness generator, the proving key
  // and the evaluation rows. Null for circuits registered with the code (the example task's, from circuits/build).
  build: jsonb('build'),
  // The log leaf that records this registration (kind circuit-registration); null for circuits registered before.
  logIndex: bigint('log_index', { mode: 'number' }),
  createdAt: ts('created_at').notNull().defaultNow(),
});

export const verifierKeys = pgTable('verifier_keys', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  // Who runs the key: a quorum counts operators, not keys. Keys registered before it existed are each their own
  // operator, 'key-<id>' (migration 0003_verifier-operator).
  operator: text('operator').notNull(),
  publicKey: text('public_key').notNull().unique(),
  tasks: jsonb('tasks').notNull().$type<string[]>(),
  validFrom: ts('valid_from').notNull(),
  validUntil: ts('valid_until'),
  revokedAt: ts('revoked_at'),
  revocationReason: text('revocation_reason'),
  reputation: integer('reputation').notNull().default(0),
  createdAt: ts('created_at').notNull().defaultNow(),
});

export const submitterKeys = pgTable('submitter_keys', {
  publicKey: text('public_key').primaryKey(),
  reputation: integer('reputation').notNull().default(0),
  verifiedCount: integer('verified_count').notNull().default(0),
  rejectedCount: integer('rejected_count').notNull().default(0),
  disputedCount: integer('disputed_count').notNull().default(0),
  bannedAt: ts('banned_at'),
  banReason: text('ban_reason'),
  firstSeenAt: ts('first_seen_at').notNull().defaultNow(),
});

export const blobs = pgTable('blobs', {
  sha256: text('sha256').primaryKey(),
  size: bigint('size', { mode: 'number' }).notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
});

/** Raw bytes; postgres.js and PGlite both send and return them as Uint8Array (Buffer). */
const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => 'bytea' });

// The blob store on PostgreSQL (src/blobs/pg-blob-store.ts), used when DATABASE_URL is set so that every API process
// and every machine reaches every blob. An upload writes its bytes as chunks under its own upload id, then names them
// in blob_contents in one statement: a digest is visible only once all its chunks are, and two uploads of one digest
// never touch each other's rows. Chunks with no blob_contents row are a crashed or refused upload's leftovers.
export const blobContents = pgTable('blob_contents', {
  sha256: text('sha256').primaryKey(),
  uploadId: text('upload_id').notNull(),
  size: bigint('size', { mode: 'number' }).notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
});

export const blobChunks = pgTable(
  'blob_chunks',
  {
    uploadId: text('upload_id').notNull(),
    seq: integer('seq').notNull(),
    data: bytea('data').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.uploadId, t.seq] })],
);

// Blobs an operator uploaded as hidden (a task pack's evaluation data): the public blob route answers 404 for them,
// and only a worker holding a lease on a job of a task that pins one may fetch it (src/service/actions/pack-files.ts).
export const hiddenBlobs = pgTable('hidden_blobs', {
  sha256: text('sha256').primaryKey(),
  createdAt: ts('created_at').notNull().defaultNow(),
});

export const claims = pgTable(
  'claims',
  {
    // SHA-256 of the exact signed payload bytes.
    id: text('id').primaryKey(),
    taskId: text('task_id').notNull().references(() => tasks.id),
    submitter: text('submitter').notNull().references(() => submitterKeys.publicKey),
    commit: text('commit').notNull(),
    parent: text('parent'),
    beatsParent: boolean('beats_parent').notNull().default(false),
    metricName: text('metric_name').notNull(),
    metricValue: doublePrecision('metric_value').notNull(),
    bundleSha256: text('bundle_sha256').notNull(),
    // The envelope exactly as it verified: payload stays base64, so the signed bytes are kept bit for bit.
    envelope: jsonb('envelope').notNull(),
    // The submitter's intake envelope (src/attest/intake.ts), exactly as it verified: it binds this claim to the
    // evidence it came with and to this log, so a copied claim cannot be posted with other evidence or elsewhere.
    // Null only for claims stored before intake envelopes existed.
    intakeEnvelope: jsonb('intake_envelope'),
    claimedAt: ts('claimed_at').notNull(),
    receivedAt: ts('received_at').notNull().defaultNow(),
    // pending | verified | rejected | disputed; the latest verdict's status, kept here for the leaderboard.
    status: text('status').notNull(),
    method: text('method'),
    reasonCode: text('reason_code'),
    stampBits: integer('stamp_bits').notNull().default(0),
    // Set when an audit replay agreed with a cheaply verified claim.
    auditedAt: ts('audited_at'),
  },
  (t) => [
    index('claims_task_status_idx').on(t.taskId, t.status),
    index('claims_submitter_idx').on(t.submitter, t.status),
  ],
);

export const evidence = pgTable(
  'evidence',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    claimId: text('claim_id').notNull().references(() => claims.id),
    // zk | attestation
    kind: text('kind').notNull(),
    body: jsonb('body').notNull(),
    digest: text('digest').notNull(),
    receivedAt: ts('received_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('evidence_claim_digest_uq').on(t.claimId, t.digest)],
);

// Proof malleability: a Groth16 proof can be re-randomised, so a statement (circuit + public signals), not the
// proof bytes, is what may count once across all claims.
export const zkStatements = pgTable('zk_statements', {
  digest: text('digest').primaryKey(),
  claimId: text('claim_id').notNull().references(() => claims.id),
});

export const verdicts = pgTable(
  'verdicts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    claimId: text('claim_id').notNull().references(() => claims.id),
    status: text('status').notNull(),
    method: text('method'),
    reasonCode: text('reason_code'),
    rule: text('rule').notNull(),
    evidenceDigests: jsonb('evidence_digests').notNull().$type<string[]>(),
    decidedAt: ts('decided_at').notNull(),
    logIndex: bigint('log_index', { mode: 'number' }),
  },
  (t) => [index('verdicts_claim_idx').on(t.claimId)],
);

export const replayJobs = pgTable(
  'replay_jobs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    claimId: text('claim_id').notNull().references(() => claims.id),
    // replay: the claim has no cheap evidence; audit: a cheaply verified claim chosen for a re-run.
    kind: text('kind').notNull(),
    // queued | leased | done | failed (parked after MAX_ATTEMPTS, for an operator) | closed (an operator gave up on it)
    state: text('state').notNull(),
    priority: integer('priority').notNull().default(0),
    attempts: integer('attempts').notNull().default(0),
    // verifier key id and worker instance, "keyid/instance": only that worker may heartbeat or complete the job.
    leaseOwner: text('lease_owner'),
    lastError: text('last_error'),
    leaseExpiresAt: ts('lease_expires_at'),
    // The latest a lease of this job may be kept alive by heartbeats: set at lease time from the task's replay
    // budget, so a worker stuck on one job cannot hold it (and its claim) forever.
    leaseDeadlineAt: ts('lease_deadline_at'),
    result: jsonb('result'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    index('replay_jobs_state_idx').on(t.state, t.priority, t.createdAt),
    uniqueIndex('replay_jobs_claim_kind_uq').on(t.claimId, t.kind),
  ],
);

export const logLeaves = pgTable('log_leaves', {
  index: bigint('index', { mode: 'number' }).primaryKey(),
  leafHash: text('leaf_hash').notNull(),
  // Canonical bytes of the verdict record (UTF-8 JSON), exactly what was hashed.
  data: text('data').notNull(),
  claimId: text('claim_id').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
});

// One row: the head of the log. Appends lock it, so leaves get gap-free indexes under concurrency.
export const logHead = pgTable('log_head', {
  id: integer('id').primaryKey(),
  size: bigint('size', { mode: 'number' }).notNull(),
});

// Hashes of the tree's perfect subtrees (level 0: leaf hashes), written with their leaf in one transaction and
// never changed: proofs read O(log² n) of them (src/log/merkle.ts, "stored nodes").
export const logNodes = pgTable(
  'log_nodes',
  {
    level: integer('level').notNull(),
    idx: bigint('idx', { mode: 'number' }).notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [primaryKey({ columns: [t.level, t.idx] })],
);

export const logCheckpoints = pgTable('log_checkpoints', {
  size: bigint('size', { mode: 'number' }).primaryKey(),
  rootHash: text('root_hash').notNull(),
  note: text('note').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
});

export const auditLog = pgTable('audit_log', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  actor: text('actor').notNull(),
  action: text('action').notNull(),
  target: text('target').notNull(),
  details: jsonb('details').notNull(),
  at: ts('at').notNull().defaultNow(),
});

export const rateCounters = pgTable('rate_counters', {
  key: text('key').primaryKey(),
  windowStart: ts('window_start').notNull(),
  count: integer('count').notNull(),
});
