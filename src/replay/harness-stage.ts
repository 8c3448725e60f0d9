// Stage 2 of a pack replay: the task's trusted harness scores what one training run left, in a fresh sandbox of its own.
//
// Inside: /harness (the pack's harness files, read-only, the working directory), /eval (the hidden evaluation data,
// read-only), /output (the run's declared outputs as copied out of stage 1, read-only), a small writable /work, no
// network. The harness is trusted code, but what it reads in /output was made by hostile code: a parser bug, a pickle,
// a model crafted to take hours all happen inside this sandbox, under the harness's own limits, and end as
// harness_failed; the hidden data is never in the sandbox that ran the commit.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { PackReplaySpec } from '../attest/task-pack.ts';
import { toInertText } from '../attest/inert-text.ts';
import type { PackFolders } from './pack-files.ts';
import { allocateSandboxUid, runInSandbox, SANDBOX_WORK_DIR, type SandboxLimits } from './sandbox.ts';
import { createWorkFolder, removeJobTree } from './work-folder.ts';

/** The harness's own writable /work: room for a cache or a temporary file, not for a copy of the data. */
export const HARNESS_WORK_LIMITS = { diskBytes: 256 * 1024 ** 2, maxInodes: 10_000 } as const;

export type HarnessStageResult =
  | { ok: true; value: number; wallMs: number; cpuMs: number | undefined }
  | { ok: false; message: string; killReason?: string };

export type MetricLine = { ok: true; value: number } | { ok: false; message: string };

/**
 * The metric in a harness's stdout: its last non-empty line must be exactly `{"metric": <finite number>}`. Anything
 * else (no line, another shape, NaN spelled as a string, a truncated stdout whose real last line was lost) is refused:
 * the score is never guessed from text.
 */
export function parseMetricLine(stdout: Buffer, truncated = false): MetricLine {
  if (truncated) return { ok: false, message: 'the harness printed more than the output cap; its last line was lost' };
  const lines = stdout.toString('utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const last = lines.at(-1);
  if (last === undefined) return { ok: false, message: 'the harness printed nothing on stdout' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(last);
  } catch {
    return { ok: false, message: `the harness's last line is not JSON: ${toInertText(last.slice(0, 200))}` };
  }
  const keys = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? Object.keys(parsed) : [];
  const value = (parsed as { metric?: unknown } | null)?.metric;
  if (keys.length !== 1 || keys[0] !== 'metric' || typeof value !== 'number' || !Number.isFinite(value)) {
    return { ok: false, message: `the harness's last line is not {"metric": <finite number>}: ${toInertText(last.slice(0, 200))}` };
  }
  return { ok: true, value };
}

/** Writes the outputs read out of stage 1 into a fresh folder of the trusted side (0755/0644): stage 2's /output. */
export async function writeCopiedOutputs(dir: string, outputs: { path: string; bytes: Buffer }[]): Promise<void> {
  await mkdir(dir, { mode: 0o755 });
  for (const output of outputs) {
    const path = join(dir, output.path);
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    await writeFile(path, output.bytes, { mode: 0o644, flag: 'wx' });
  }
}

export type HarnessStageInput = {
  /** A folder of the trusted side for this run's harness work folder. */
  root: string;
  seed: number;
  spec: PackReplaySpec;
  folders: PackFolders;
  outputDir: string;
  gpus: boolean;
  machine?: { readOnlyPaths?: string[]; env?: Record<string, string>; cpu?: { idle: boolean; shares?: number } };
};

export async function runHarnessStage(input: HarnessStageInput): Promise<HarnessStageResult> {
  const uid = allocateSandboxUid();
  const workDir = join(input.root, `harness-${input.seed}`);
  await createWorkFolder(workDir, { ...HARNESS_WORK_LIMITS, uid });
  try {
    const cpu = input.machine?.cpu;
    const limits: Partial<SandboxLimits> = {
      ...input.spec.harness.limits,
      ...HARNESS_WORK_LIMITS,
      ...(cpu ? { cpuIdle: cpu.idle, ...(cpu.shares !== undefined ? { cpuShares: cpu.shares } : {}) } : {}),
    };
    const result = await runInSandbox({
      uid,
      command: input.spec.harness.command,
      workDir,
      mounts: [
        { source: input.folders.harnessDir, target: '/harness' },
        { source: input.folders.evalDir, target: '/eval' },
        { source: input.outputDir, target: '/output' },
      ],
      cwd: '/harness',
      env: { ...input.machine?.env, USER: 'proofboard', LOGNAME: 'proofboard', HOME: SANDBOX_WORK_DIR, PYTHONDONTWRITEBYTECODE: '1', PROOFBOARD_SEED: String(input.seed) },
      readOnlyPaths: input.machine?.readOnlyPaths ?? [],
      limits,
      gpus: input.gpus,
    });
    if (result.killReason !== 'none' || result.exitCode !== 0) {
      const tail = toInertText(result.stderr.subarray(Math.max(0, result.stderr.length - 400)).toString('utf8'));
      const how = result.killReason === 'none' ? `exit ${result.exitCode}` : `killed (${result.killReason})`;
      return { ok: false, message: `harness ${how}; stderr tail: ${tail}`, killReason: result.killReason };
    }
    const metric = parseMetricLine(result.stdout, result.stdoutTruncated);
    if (!metric.ok) return metric;
    return { ok: true, value: metric.value, wallMs: result.wallMs, cpuMs: result.cpuMs };
  } finally {
    await removeJobTree(workDir);
  }
}
