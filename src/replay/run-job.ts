// Runs one replay job on this machine: verify and check out the commit's bundle, run its training command in the
// sandbox once per seed, score what it produced with the task's trusted harness, and build the statement to sign.
//
// A task replays in two sandboxed stages per seed: stage 1 runs the commit's training with the commit at /input and
// the pack's training data at /data, and nothing of the evaluation data anywhere; its declared outputs are read out
// safely (job-output.ts) and copied into a fresh folder; stage 2 runs the pack's harness on that copy with the
// evaluation data (harness-stage.ts). The attestation names the pack's pins. (Tasks registered before packs named a
// harness compiled into the worker; those harnesses are gone, and such a task's jobs are handed back as this
// machine's failure, never held against a claim.)
//
// Two kinds of failure, kept apart because they end differently: what the submitted code or its output caused is an
// outcome (`{ ok: false }` with a code that rejects the claim and counts against its key); what this machine caused
// (no sandbox, a harness thread that cannot start, a full host disk) is thrown, and the job goes back to the queue.
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildReplayStatement, type ReplayStatement } from '../attest/statement.ts';
import { toInertText } from '../attest/inert-text.ts';
import type { TaskPolicy } from '../attest/policy.ts';
import { packReplaySpecSchema, type PackReplaySpec, type TaskPack } from '../attest/task-pack.ts';
import { canonicalJson } from '../verdict/evidence-digest.ts';
import { runHarnessStage, writeCopiedOutputs } from './harness-stage.ts';
import { materializePack, type PackFileSource, type PackFolders } from './pack-files.ts';
import { checkoutBundle } from './git-checkout.ts';
import { readJobOutputPath } from './job-output.ts';
import { allocateSandboxUid, runInSandbox, SANDBOX_INPUT_DIR, SANDBOX_WORK_DIR, DEFAULT_SANDBOX_LIMITS, type SandboxLimits, type SandboxResult } from './sandbox.ts';
import type { SandboxMount } from './sandbox-args.ts';
import type { FailureCode } from '../attest/worker-request.ts';
import { buildSeccompFilter, toSeccompArch } from './seccomp-filter.ts';
import { createJobRoot, createWorkFolder, removeJobTree } from './work-folder.ts';

export const RUNNER_VERSION = 'proofboard-replay/0.1.0';

export type JobInput = {
  claimId: string;
  task: string;
  commit: string;
  metricName: string;
  bundle: Buffer;
  bundleSha256: string;
  policy: Pick<TaskPolicy, 'runs' | 'seeds'>;
  replay: unknown;
  /** The task's pack and where its pinned files come from; required when `replay` is in the pack form. */
  pack?: { pack: TaskPack; source: PackFileSource };
  gpus: boolean;
  environment: { gpu: 'cpu' | { model: string; count: number }; driver: string | null; runtimes: Record<string, string> };
  machine?: MachineConfig;
  onProgress?: (stage: string) => void;
  /** Where a folder the job left could not be removed: reported, never allowed to discard an outcome. */
  onCleanupError?: (error: Error) => void;
};

/**
 * This machine's own sandbox settings, chosen by its operator and never by a task: a task record says what to run,
 * but which host folders a job may read is a decision about this host. A Python with PyTorch under /opt, say, is
 * mounted read-only at the same path; `env` carries what its libraries need (e.g. LD_LIBRARY_PATH for the driver).
 * Never a folder holding secrets: the job reads everything in it.
 */
export type MachineConfig = {
  readOnlyPaths?: string[];
  env?: Record<string, string>;
  /**
   * How jobs share this machine's CPUs with its other processes (SandboxLimits cpuIdle, cpuShares). By default a job
   * is an idle group, so an API beside it stays fast; a machine that only replays may give its jobs a plain share.
   * Not a task's choice: it changes nothing a job can read or do, only how soon it gets a core.
   */
  cpu?: { idle: boolean; shares?: number };
};

/** The machine's CPU policy as sandbox limits (empty: the sandbox's defaults). */
function cpuPolicy(machine: MachineConfig | undefined): Partial<SandboxLimits> {
  if (!machine?.cpu) return {};
  return { cpuIdle: machine.cpu.idle, ...(machine.cpu.shares !== undefined ? { cpuShares: machine.cpu.shares } : {}) };
}

export type JobOutcome =
  | { ok: true; statement: ReplayStatement; runs: RunTiming[] }
  | { ok: false; code: FailureCode; message: string; killReason?: string };

/** One run's measurement, with how long each stage took (stage 2 only for pack tasks). */
export type RunTiming = { seed: number; value: number; wallMs: number; cpuMs?: number; harnessWallMs?: number; harnessCpuMs?: number };

const TAIL = 400;

export async function runReplayJob(input: JobInput): Promise<JobOutcome> {
  const parsed = packReplaySpecSchema.safeParse(input.replay);
  if (!parsed.success) {
    return { ok: false, code: 'infrastructure', message: 'the task has no replay spec in the pack form (tasks that named a compiled-in harness must be registered again as a pack)' };
  }
  // The server sends the pack with the lease; one that is missing or names another harness is its fault, not the claim's.
  if (!input.pack) return { ok: false, code: 'infrastructure', message: 'the task replays in two stages but its pack was not sent' };
  if (canonicalJson(input.pack.pack.harness.command) !== canonicalJson(parsed.data.harness.command)) {
    return { ok: false, code: 'infrastructure', message: "the task's replay and its pack name different harness commands" };
  }
  if (createHash('sha256').update(input.bundle).digest('hex') !== input.bundleSha256) {
    return { ok: false, code: 'infrastructure', message: 'downloaded bundle does not match its digest' };
  }
  const root = await createJobRoot();
  try {
    input.onProgress?.('pack files');
    const folders = await materializePack(join(root, 'pack'), input.pack.pack, input.pack.source);
    return await runPackInFolder(input, root, parsed.data, input.pack.pack, folders);
  } finally {
    await removeJobTree(root).catch((error: Error) => input.onCleanupError?.(error));
  }
}

async function runPackInFolder(input: JobInput, root: string, spec: PackReplaySpec, pack: TaskPack, folders: PackFolders): Promise<JobOutcome> {
  const bundlePath = join(root, 'commit.bundle');
  await writeFile(bundlePath, input.bundle);
  input.onProgress?.('checkout');
  const checkout = await checkoutBundle({ bundlePath, commit: input.commit, destDir: join(root, 'checkout') });
  if (!checkout.ok) return { ok: false, code: 'bad_bundle', message: toInertText(`${checkout.reason}: ${checkout.detail}`) };

  const limits: Partial<SandboxLimits> = { ...spec.limits };
  const capped = { ...DEFAULT_SANDBOX_LIMITS, ...limits };
  const seeds = input.policy.seeds ?? Array.from({ length: input.policy.runs }, (_, i) => i);
  const startedAt = new Date();
  const runs: RunTiming[] = [];
  let modelSha256: string | null = null;
  for (const seed of seeds) {
    // Stage 1: the commit's code, its tree, the training data. The hidden evaluation data is on this host only in
    // root/pack/eval, which this sandbox does not mount: no path inside reaches it.
    const mounts = [{ source: folders.dataDir, target: '/data' }];
    const trained = await trainSeed(input, { root, treeDir: checkout.treeDir, train: spec.train, limits, capped, mounts }, seed);
    if (!trained.ok) return trained;
    const { workDir, result } = trained;
    input.onProgress?.(`score seed ${seed}`);
    // Read as root from a folder the job controlled (never through a link, never past the cap), then copied into a
    // folder of ours: stage 2 sees these bytes, not the job's folder.
    const outputs: { path: string; bytes: Buffer }[] = [];
    for (const declared of spec.outputs) {
      const output = await readJobOutputPath(workDir, declared.path, declared.maxBytes, result.uid).catch((e: Error) => e);
      if (output instanceof Error) return { ok: false, code: 'infrastructure', message: `the task's output ${declared.path}: ${output.message}` };
      if (!output.ok) return { ok: false, code: 'harness_failed', message: `seed ${seed}: ${output.message}` };
      outputs.push({ path: declared.path, bytes: output.bytes });
    }
    await removeJobTree(workDir);
    const outputDir = join(root, `output-${seed}`);
    await writeCopiedOutputs(outputDir, outputs);
    const scored = await runHarnessStage({
      root,
      seed,
      spec,
      folders,
      outputDir,
      gpus: input.gpus,
      ...(input.machine ? { machine: input.machine } : {}),
    });
    if (!scored.ok) return { ok: false, code: 'harness_failed', message: `seed ${seed}: ${scored.message}` };
    if (seed === seeds[0]) modelSha256 = outputsSha256(outputs);
    runs.push({
      seed,
      value: scored.value,
      wallMs: result.wallMs,
      ...(result.cpuMs !== undefined ? { cpuMs: result.cpuMs } : {}),
      harnessWallMs: scored.wallMs,
      ...(scored.cpuMs !== undefined ? { harnessCpuMs: scored.cpuMs } : {}),
    });
    await removeJobTree(outputDir);
  }
  const statement = buildReplayStatement({
    commit: input.commit,
    modelSha256,
    predicate: {
      task: input.task,
      claimId: input.claimId,
      metric: input.metricName,
      runs: runs.map(({ seed, value }) => ({ seed, value })),
      environment: {
        ...input.environment,
        runnerVersion: RUNNER_VERSION,
        // The pack's pins, which the server compares with the task's before the attestation counts.
        harnessSha256: pack.harnessSha256,
        datasetSha256: pack.evalDataSha256,
        sandboxProfileSha256: sandboxProfileSha256(limits, input.machine?.readOnlyPaths, spec.harness.limits),
      },
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
    },
  });
  return { ok: true, statement, runs };
}

/** The first run's outputs by digest: the file's own SHA-256 when there is one, else that of their canonical list. */
function outputsSha256(outputs: { path: string; bytes: Buffer }[]): string {
  const digest = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
  if (outputs.length === 1) return digest(outputs[0]!.bytes);
  return digest(canonicalJson(outputs.map((o) => ({ path: o.path, sha256: digest(o.bytes), bytes: o.bytes.length }))));
}

type TrainingSetup = {
  root: string;
  treeDir: string;
  /** argv with {seed} in it. */
  train: readonly string[];
  limits: Partial<SandboxLimits>;
  capped: SandboxLimits;
  mounts?: SandboxMount[];
};

/**
 * One seed's training, the untrusted part of a replay: a fresh work folder of its own, capped in bytes and files
 * (work-folder.ts), so a job that fills it gets ENOSPC, never the host's disk; a fresh sandbox uid. A run that is
 * killed or exits non-zero is the claim's fault: `training_failed`, with the tail of its stderr made inert.
 */
async function trainSeed(
  input: JobInput,
  setup: TrainingSetup,
  seed: number,
): Promise<{ ok: true; workDir: string; result: SandboxResult } | Extract<JobOutcome, { ok: false }>> {
  input.onProgress?.(`train seed ${seed}`);
  const workDir = join(setup.root, `run-${seed}`);
  const uid = allocateSandboxUid();
  await createWorkFolder(workDir, { diskBytes: setup.capped.diskBytes, maxInodes: setup.capped.maxInodes, uid });
  const result = await runInSandbox({
    uid,
    command: setup.train.map((a) => a.replaceAll('{seed}', String(seed))),
    workDir,
    inputDir: setup.treeDir,
    ...(setup.mounts ? { mounts: setup.mounts } : {}),
    // The job's uid has no passwd entry: name it in the environment, where getpass and most tools look first.
    env: { ...input.machine?.env, USER: 'proofboard', LOGNAME: 'proofboard', HOME: SANDBOX_WORK_DIR, PYTHONDONTWRITEBYTECODE: '1', PYTHONHASHSEED: '0', PROOFBOARD_SEED: String(seed) },
    readOnlyPaths: input.machine?.readOnlyPaths ?? [],
    limits: { ...setup.limits, ...cpuPolicy(input.machine) },
    gpus: input.gpus,
  });
  if (result.killReason !== 'none' || result.exitCode !== 0) {
    // The tail is the job's own bytes: escaped here, so no terminal escape reaches a verdict, a log leaf or a screen.
    const tail = toInertText(result.stderr.subarray(Math.max(0, result.stderr.length - TAIL)).toString('utf8'));
    return {
      ok: false,
      code: 'training_failed',
      killReason: result.killReason,
      message: `seed ${seed}: ${stoppedBy(result.killReason, result.exitCode)}; stderr tail: ${tail}`,
    };
  }
  return { ok: true, workDir, result };
}

function stoppedBy(killReason: string, exitCode: number | null): string {
  if (killReason === 'none') return `exit ${exitCode}`;
  // A full work folder is not a kill: the job got ENOSPC and gave up.
  if (killReason === 'disk') return `work folder full (disk), exit ${exitCode}`;
  return `killed (${killReason})`;
}

/** What the sandbox was: its limits, mount layout and seccomp program, so two verifiers can compare profiles. */
export function sandboxProfileSha256(limits: Partial<SandboxLimits>, readOnlyPaths: string[] = [], harnessLimits?: Partial<SandboxLimits>): string {
  const arch = toSeccompArch(process.arch);
  const layout = {
    limits: { ...DEFAULT_SANDBOX_LIMITS, ...limits },
    input: SANDBOX_INPUT_DIR,
    work: SANDBOX_WORK_DIR,
    // Two stages: stage 1 sees /data, stage 2 /harness, /eval and /output, under the harness's own limits.
    ...(harnessLimits ? { stage2: { limits: { ...DEFAULT_SANDBOX_LIMITS, ...harnessLimits }, mounts: ['/harness', '/eval', '/output'] }, data: '/data' } : {}),
  };
  // Extra mounts change what the job could read; without any, the digest stays what it was before they existed.
  const mounts = readOnlyPaths.length > 0 ? { readOnly: [...readOnlyPaths].sort() } : {};
  return createHash('sha256')
    .update(JSON.stringify({ ...layout, ...mounts }))
    .update(arch ? buildSeccompFilter(arch) : Buffer.alloc(0))
    .digest('hex');
}
