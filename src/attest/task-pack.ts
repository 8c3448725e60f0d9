// A task pack: what an operator registers to put a task on the board without changing the code (docs/define-a-task.md).
// The task's JSON (metric, policy, how its training is started and with what budget) plus three sets of files pinned
// by SHA-256: the trusted harness that computes the score, the hidden evaluation data only the harness sees, and the
// training data the commit's training may read. Pure: the server, the CLI and a third party's recheck validate and
// digest a pack with the same functions, so a verdict names exactly what it was judged against.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from '../verdict/evidence-digest.ts';
import { taskIdSchema } from './claim.ts';
import { taskPolicySchema } from './policy.ts';
import { replayJobBudgetMs, replaySpecSchema, SCORING_BUDGET } from './replay-spec.ts';

/** Files in one part of a pack. Bounds the JSON of a definition (a log leaf) and a worker's download list. */
export const MAX_PACK_FILES = 1000;
/** One pack file; the blob store's own limit (config maxBlobBytes) may be lower. */
export const MAX_PACK_FILE_BYTES = 4 * 1024 ** 3;
/** GPUs one replay may ask for: more than any single machine a verifier runs today. */
export const MAX_GPUS = 8;
/** Files training must leave for the harness, and the most bytes of each the worker copies out of stage 1. */
export const MAX_OUTPUTS = 16;
export const MAX_OUTPUT_BYTES = 2 * 1024 ** 3;
/** Where stage 2 mounts the pack's harness files (cwd of the harness command). */
export const HARNESS_MOUNT = '/harness';

const sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex (SHA-256)');

/**
 * A relative POSIX path inside a pack or a work folder. Refused: absolute paths, `..` and `.` segments, empty segments,
 * backslashes and control characters: each would let a file land outside the folder the sandbox mounts, or name two
 * files with one spelling.
 */
export const packPathSchema = z
  .string()
  .min(1)
  .max(200)
  .superRefine((p, ctx) => {
    // One problem per path, the first that applies: an operator fixes a name once, not three times.
    const problem = p.startsWith('/')
      ? 'must be relative (no leading /)'
      : !p.split('/').every((s) => s !== '' && s !== '.' && s !== '..')
        ? 'no empty, "." or ".." segments'
        : !/^[\x21-\x7e]+$/.test(p) || p.includes('\\')
          ? 'printable ASCII without spaces or backslashes'
          : null;
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const packFileSchema = z
  .object({ path: packPathSchema, sha256: sha256HexSchema, bytes: z.number().int().min(0).max(MAX_PACK_FILE_BYTES) })
  .strict();
export type PackFile = z.infer<typeof packFileSchema>;

const packFilesSchema = z.array(packFileSchema).max(MAX_PACK_FILES);

const argvSchema = z.array(z.string().min(1).max(512)).min(1, 'must name a command').max(64);

/** Stage 1, the commit's training: the sandbox budget of one run. */
export const trainLimitsSchema = z
  .object({
    wallTimeMs: z.number().int().min(1000).max(24 * 3_600_000),
    cpuSeconds: z.number().int().min(1).max(7 * 24 * 3600),
    memoryBytes: z.number().int().min(16 * 1024 ** 2).max(1024 ** 4),
    diskBytes: z.number().int().min(1024 ** 2).max(1024 ** 4),
  })
  .partial()
  .strict();

/** Stage 2, the trusted harness scoring one run's outputs. */
export const harnessLimitsSchema = z
  .object({
    wallTimeMs: z.number().int().min(1000).max(3_600_000),
    cpuSeconds: z.number().int().min(1).max(24 * 3600),
    memoryBytes: z.number().int().min(16 * 1024 ** 2).max(256 * 1024 ** 3),
  })
  .partial()
  .strict();

export const replayOutputSchema = z
  .object({ path: packPathSchema, maxBytes: z.number().int().min(1).max(MAX_OUTPUT_BYTES) })
  .strict();

/**
 * The `replay` of a task that has a pack: how stage 1 starts (argv with `{seed}`; the commit's tree at /input, the
 * training data at /data, a writable /work), which files of /work it leaves for the harness, and how stage 2 runs the
 * harness (argv, cwd /harness; /eval and /output read-only). Its last stdout line is `{"metric": <number>}`.
 */
export const packReplaySpecSchema = z
  .object({
    train: argvSchema,
    outputs: z.array(replayOutputSchema).min(1, 'name at least one output').max(MAX_OUTPUTS),
    limits: trainLimitsSchema.default({}),
    harness: z.object({ command: argvSchema, limits: harnessLimitsSchema.default({}) }).strict(),
    gpus: z.number().int().min(0).max(MAX_GPUS).default(0),
  })
  .strict();
export type PackReplaySpec = z.infer<typeof packReplaySpecSchema>;

/** The registered pack: stored with the task; every file is a blob pinned by its SHA-256. */
export const taskPackSchema = z
  .object({
    harness: z
      .object({ command: argvSchema, files: packFilesSchema.min(1, 'the harness needs at least one file'), limits: harnessLimitsSchema })
      .strict(),
    /**
     * Hidden by default: served only to workers holding a lease, never by the public blob route. `public: true` is for
     * a task whose evaluation set cannot be secret anyway (a zk task: the prover scores it, and the circuit commits to
     * it): its files are public blobs, so a third party can replay a claim itself (recheck --replay).
     */
    evalData: z.object({ files: packFilesSchema.min(1, 'the evaluation data must not be empty'), public: z.literal(true).optional() }).strict(),
    trainData: z.object({ files: packFilesSchema }).strict(),
    /** What a verifier attests (statement environment harnessSha256): harnessDigestOf(harness). */
    harnessSha256: sha256HexSchema,
    /** What a verifier attests (statement environment datasetSha256): evalDataDigestOf(evalData.files). */
    evalDataSha256: sha256HexSchema,
  })
  .strict();
export type TaskPack = z.infer<typeof taskPackSchema>;
export type PackHarness = TaskPack['harness'];

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');
const byPath = (files: readonly PackFile[]) => [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

/** SHA-256 of the canonical JSON of the harness (command, files sorted by path, limits). */
export function harnessDigestOf(harness: PackHarness): string {
  return sha256Hex(canonicalJson({ command: harness.command, files: byPath(harness.files), limits: harness.limits }));
}

/** SHA-256 of the canonical JSON of the evaluation files, sorted by path. */
export function evalDataDigestOf(files: readonly PackFile[]): string {
  return sha256Hex(canonicalJson(byPath(files)));
}

/** Builds the registered pack from its parts, with its two pins computed. */
export function toTaskPack(parts: Omit<TaskPack, 'harnessSha256' | 'evalDataSha256'>): TaskPack {
  const harness = { ...parts.harness, files: byPath(parts.harness.files) };
  const evalFiles = byPath(parts.evalData.files);
  return {
    harness,
    evalData: { files: evalFiles, ...(parts.evalData.public ? { public: true as const } : {}) },
    trainData: { files: byPath(parts.trainData.files) },
    harnessSha256: harnessDigestOf(harness),
    evalDataSha256: evalDataDigestOf(evalFiles),
  };
}

/**
 * A task as an operator registers it (POST /v1/tasks, `proofboard admin task add`). `replay` is the pack form above
 * (with `pack`), or null for a task checked by proofs and attestations alone.
 */
const taskFieldsSchema = z
  .object({
    id: taskIdSchema,
    title: z.string().min(1).max(200),
    description: z.string().max(4000).default(''),
    metricName: z.string().regex(/^[a-z][a-z0-9_]{0,31}$/),
    direction: z.enum(['higher', 'lower']),
    policy: taskPolicySchema,
    auditFraction: z.number().min(0).max(1).default(0),
    stampBaseBits: z.number().int().min(0).max(40).default(0),
    // Checked here, so a spec no worker can run is refused at registration instead of failing every replay job later.
    // Either form, told apart by `harness` (an object in the pack form, an id string before packs); parsed below with
    // the one schema that applies, so its mistakes are reported field by field instead of as one failed union.
    replay: z.unknown().optional(),
    evalSetCommitment: z.string().max(200).nullable().default(null),
    pack: taskPackSchema.optional(),
  })
  .strict();

export type Problem = { path: string; message: string };

/** The task definition with every problem reported at once: zod's per-field issues plus the checks across fields. */
export const taskDefinitionSchema = taskFieldsSchema
  .superRefine(
    (value, ctx) => {
      // rec(): with `when` this runs on values that failed the object schema (and the OpenAPI generator passes null).
      const raw = rec(value).replay;
      const replay = replaySchemaFor(raw).safeParse(raw);
      if (!replay.success) for (const issue of replay.error.issues) ctx.addIssue({ ...issue, path: ['replay', ...issue.path] } as never);
      for (const p of crossFieldProblems(value as unknown)) ctx.addIssue({ code: 'custom', path: p.path === '' ? [] : p.path.split('.'), message: p.message });
    },
    // Run even when some fields failed: an operator fixing a pack should see all of its mistakes in one round.
    { when: () => true } as never,
  )
  // The refinement above already reported a replay that does not parse (its issues do not stop this transform): never
  // throw here, a throw would be a 500 instead of a refusal.
  .transform((value) => {
    const replay = replaySchemaFor(value.replay).safeParse(value.replay);
    return { ...value, replay: replay.success ? replay.data : null };
  });

// A replay that names a harness compiled into the worker (the form before packs) is refused: those harnesses are gone,
// and every job of such a task would be handed back. Tasks stored in that form are still read (replay-spec.ts).
const NO_REPLAY = z.null({ error: 'must be in the pack form ({ train, outputs, harness: { command, limits }, ... }) with a pack, or null for a task without replay' }).default(null);

function replaySchemaFor(replay: unknown) {
  const packForm = typeof rec(replay).harness === 'object';
  return packForm ? packReplaySpecSchema : NO_REPLAY;
}
export type TaskDefinition = z.infer<typeof taskDefinitionSchema>;
export type TaskDefinitionInput = z.input<typeof taskDefinitionSchema>;

export type TaskDefinitionCheck = { ok: true; task: TaskDefinition } | { ok: false; problems: Problem[] };

/** Validates a task definition; `problems` lists every problem, each at the field it names, without duplicates. */
export function checkTaskDefinition(input: unknown): TaskDefinitionCheck {
  const parsed = taskDefinitionSchema.safeParse(input);
  if (parsed.success) return { ok: true, task: parsed.data };
  return { ok: false, problems: toProblems(parsed.error) };
}

export function toProblems(error: z.ZodError): Problem[] {
  const seen = new Set<string>();
  const problems: Problem[] = [];
  for (const issue of error.issues) {
    const p = { path: issue.path.map(String).join('.'), message: issue.message };
    const key = `${p.path}\n${p.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(p);
  }
  return problems;
}

// Reads of a value that may not have passed its schema: every cross-field check below must hold on hostile JSON.
const rec = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const sameJson = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);

const SEEDS_MESSAGE = 'seeds must list exactly `runs` seeds';

function crossFieldProblems(raw: unknown): Problem[] {
  const t = rec(raw);
  const problems: Problem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  const policy = rec(t.policy);

  // The policy's own refinements run only when the whole policy parses; these two are repeated so they are reported
  // beside its other mistakes (toProblems drops the copy when both fire).
  if (typeof t.direction === 'string' && typeof policy.direction === 'string' && policy.direction !== t.direction) {
    add('policy.direction', 'policy.direction must equal direction');
  }
  if (Array.isArray(policy.seeds) && typeof policy.runs === 'number' && policy.seeds.length !== policy.runs) add('policy.seeds', SEEDS_MESSAGE);

  const replay = t.replay === undefined || t.replay === null ? null : rec(t.replay);
  const packForm = replay !== null && typeof replay.harness === 'object';
  // (A replay in another form is refused by its schema already, at the same field.)
  if (t.pack !== undefined && replay === null) add('replay', 'a task with a pack needs replay in the pack form ({ train, outputs, harness: { command }, ... })');
  if (t.pack === undefined && packForm) add('pack', 'replay in the pack form needs the pack (harness, evalData, trainData)');
  if (replay && packForm) {
    // Without {seed} every run of a multi-run policy would train the same thing: the runs would not be independent.
    // (Pack-form specs only: tasks registered before packs keep the rules they were registered under.)
    const train = arr(replay.train);
    if (train.length > 0 && !train.some((a) => typeof a === 'string' && a.includes('{seed}'))) add('replay.train', 'must pass the run\'s seed as {seed}');
    const outputs = arr(replay.outputs).map((o) => rec(o).path);
    duplicates(outputs).forEach((p) => add('replay.outputs', `output ${JSON.stringify(p)} is named twice`));
  }

  if (t.pack !== undefined) {
    const pack = rec(t.pack);
    const harness = rec(pack.harness);
    const parts: [string, unknown][] = [
      ['pack.harness.files', harness.files],
      ['pack.evalData.files', rec(pack.evalData).files],
      ['pack.trainData.files', rec(pack.trainData).files],
    ];
    for (const [path, files] of parts) {
      duplicates(arr(files).map((f) => rec(f).path)).forEach((p) => add(path, `file ${JSON.stringify(p)} is listed twice`));
    }
    if (packForm) {
      const spec = rec(replay!.harness);
      if (!sameJson(spec.command, harness.command)) add('pack.harness.command', 'must equal replay.harness.command');
      if (!sameJson(spec.limits ?? {}, harness.limits ?? {})) add('pack.harness.limits', 'must equal replay.harness.limits');
    }
    // A command that names a file under /harness must name one the pack carries: otherwise every replay fails.
    const names = new Set(arr(harness.files).map((f) => rec(f).path));
    for (const a of arr(harness.command)) {
      if (typeof a === 'string' && a.startsWith(`${HARNESS_MOUNT}/`) && !names.has(a.slice(HARNESS_MOUNT.length + 1))) {
        add('pack.harness.command', `${a} is not one of the harness files`);
      }
    }
    const h = taskPackSchema.shape.harness.safeParse(pack.harness);
    if (h.success && typeof pack.harnessSha256 === 'string' && pack.harnessSha256 !== harnessDigestOf(h.data)) {
      add('pack.harnessSha256', 'is not the digest of the harness (harnessDigestOf)');
    }
    const e = taskPackSchema.shape.evalData.safeParse(pack.evalData);
    if (e.success && typeof pack.evalDataSha256 === 'string' && pack.evalDataSha256 !== evalDataDigestOf(e.data.files)) {
      add('pack.evalDataSha256', 'is not the digest of the evaluation files (evalDataDigestOf)');
    }
  }
  return problems;
}

function duplicates(values: unknown[]): unknown[] {
  const seen = new Set<unknown>();
  const twice = new Set<unknown>();
  for (const v of values) (seen.has(v) ? twice : seen).add(v);
  return [...twice];
}

/** Whether a task's replay is the pack form (two stages, harness from the pack) rather than a compiled-in harness id. */
export function isPackReplaySpec(replay: unknown): replay is PackReplaySpec {
  return packReplaySpecSchema.safeParse(replay).success;
}

/** The fields of a task that its verdicts depend on: what the definition leaf records and its digest covers. */
export type TaskDefinitionRecord = {
  id: string;
  title: string;
  description: string;
  metricName: string;
  direction: string;
  policy: unknown;
  auditFraction: number;
  stampBaseBits: number;
  replay: unknown;
  evalSetCommitment: string | null;
  pack: TaskPack | null;
};

/** SHA-256 of the canonical JSON of a task definition: what a verdict of the task was judged against. */
export function taskDefinitionDigestOf(def: TaskDefinitionRecord): string {
  return sha256Hex(canonicalJson(toDefinitionRecord(def)));
}

function toDefinitionRecord(def: TaskDefinitionRecord): TaskDefinitionRecord {
  const { id, title, description, metricName, direction, policy, auditFraction, stampBaseBits, replay, evalSetCommitment, pack } = def;
  return { id, title, description, metricName, direction, policy, auditFraction, stampBaseBits, replay, evalSetCommitment, pack };
}

/**
 * The bytes of the log leaf that registers a task: canonical JSON with `kind: "task-definition"` and no `claim`
 * member, so a reader that lists verdict leaves (recheck's listTaskClaims) passes over it, and the definition with
 * every pin (harnessSha256, evalDataSha256, each file's digest) is in the log before any verdict of the task.
 */
export function taskDefinitionLeafText(def: TaskDefinitionRecord, registeredAt: string): string {
  const definition = toDefinitionRecord(def);
  return canonicalJson({ v: 1, kind: 'task-definition', task: def.id, definitionSha256: taskDefinitionDigestOf(definition), definition, registeredAt });
}

/**
 * The longest a replay job of a pack-form task can honestly take (replay-spec.ts replayJobBudgetMs), with each run's
 * harness at its own wall time instead of the compiled-in harness's budget.
 */
export function packReplayJobBudgetMs(spec: PackReplaySpec, runs: number): number {
  const harnessMs = spec.harness.limits.wallTimeMs ?? SCORING_BUDGET.wallTimeMs;
  return replayJobBudgetMs({ limits: spec.limits }, runs) + runs * Math.max(0, harnessMs - SCORING_BUDGET.wallTimeMs);
}

/** What an attestation's environment must name for a pack-form task: the pack's two digests. */
export type EnvironmentPins = { harnessSha256: string; datasetSha256: string };

/**
 * The pins attestations of a task are judged against, from its stored pack; null for a task without a pack (its
 * attestations name whatever harness digests the verifier computed, and are not compared).
 */
export function environmentPinsOf(pack: unknown): EnvironmentPins | null {
  const parsed = taskPackSchema.safeParse(pack);
  return parsed.success ? { harnessSha256: parsed.data.harnessSha256, datasetSha256: parsed.data.evalDataSha256 } : null;
}

/**
 * What a submitter needs to know to make a commit this task can replay, stated from the task's definition alone (GET
 * /v1/tasks/{id}, the task page): the files the commit must contain (the /input paths its training command names),
 * the command and its seeds, runs, budgets and GPUs, what training must leave for the harness, and the pins verifiers
 * attest. Null for a task with no replay.
 */
export type SubmissionContract = {
  commitMustContain: string[];
  train: { command: string[]; seeds: number[] | null; runs: number; mounts: Record<string, string> };
  outputs: { path: string; maxBytes: number }[] | null;
  budgets: { train: Record<string, number>; harness: Record<string, number> | null; gpus: number };
  harness: { command: string[]; files: PackFile[]; sha256: string } | { id: string } | null;
  trainData: PackFile[];
  evalData: { sha256: string; files: number } | null;
  metric: { name: string; direction: string; tolerance: unknown; quorum: number | null; beatsParent: unknown };
};

export function submissionContractOf(task: {
  metricName: string;
  direction: string;
  policy: unknown;
  replay: unknown;
  pack: unknown;
}): SubmissionContract | null {
  if (task.replay === null || task.replay === undefined) return null;
  const policy = taskPolicySchema.safeParse(task.policy);
  const packSpec = packReplaySpecSchema.safeParse(task.replay);
  const legacy = replaySpecSchema.safeParse(task.replay);
  const pack = taskPackSchema.safeParse(task.pack);
  const command = packSpec.success ? packSpec.data.train : legacy.success ? legacy.data.train : [];
  const mustContain = [...new Set(command.filter((a) => a.startsWith('/input/')).map((a) => a.slice('/input/'.length)))];
  const runs = policy.success ? policy.data.runs : 1;
  return {
    commitMustContain: mustContain,
    train: {
      command,
      seeds: policy.success ? (policy.data.seeds ?? null) : null,
      runs,
      mounts: {
        '/input': 'the commit\'s tree, read-only',
        ...(pack.success ? { '/data': 'the training data (trainData), read-only' } : {}),
        '/work': 'writable; the outputs are read from here',
      },
    },
    outputs: packSpec.success ? packSpec.data.outputs : null,
    budgets: {
      train: (packSpec.success ? packSpec.data.limits : legacy.success ? (legacy.data.limits ?? {}) : {}) as Record<string, number>,
      harness: packSpec.success ? (packSpec.data.harness.limits as Record<string, number>) : null,
      gpus: packSpec.success ? packSpec.data.gpus : 0,
    },
    harness: pack.success
      ? { command: pack.data.harness.command, files: pack.data.harness.files, sha256: pack.data.harnessSha256 }
      : legacy.success
        ? { id: legacy.data.harness }
        : null,
    trainData: pack.success ? pack.data.trainData.files : [],
    evalData: pack.success ? { sha256: pack.data.evalDataSha256, files: pack.data.evalData.files.length } : null,
    metric: {
      name: task.metricName,
      direction: task.direction,
      tolerance: policy.success ? policy.data.tolerance : null,
      quorum: policy.success ? policy.data.quorum : null,
      beatsParent: policy.success ? policy.data.beatsParent : null,
    },
  };
}
