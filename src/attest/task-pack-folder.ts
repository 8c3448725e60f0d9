// A task pack folder as an operator writes it (docs/define-a-task.md): task.json, harness/, the evaluation data in
// eval/ (hidden) or public-eval/ (public: a zk task's, say), data/ (training data, optional) and circuit/ (optional).
// Read and checked here, every problem at once, before anything leaves the machine; the same reader serves
// `proofboard admin task add DIR` and the server's first start, which registers the example task from its pack.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { circuitRegistrationSchema, type CircuitRegistration } from '../zk/circuit-build.ts';
import { checkTaskDefinition, MAX_PACK_FILES, MAX_PACK_FILE_BYTES, packPathSchema, toTaskPack, type PackFile, type Problem, type TaskPack } from './task-pack.ts';

/** The pack folder's parts, by the folder each is read from ('eval': eval/ or public-eval/). */
export const PACK_PARTS = ['harness', 'eval', 'data'] as const;
export type PackPart = (typeof PACK_PARTS)[number];
type Part = PackPart;

type LocalFile = { sha256: string; bytes: number; local: string };
/** The optional circuit/ folder, registered after the task through POST /v1/tasks/{id}/circuits. */
export type LoadedCircuit = { registration: CircuitRegistration; files: Record<keyof CircuitRegistration['build'], LocalFile> };
export type LoadedPack = { definition: Record<string, unknown> & { pack: TaskPack }; files: Record<Part, (PackFile & { local: string })[]>; circuit: LoadedCircuit | null };

export type PackLoad = { ok: true; pack: LoadedPack } | { ok: false; problems: Problem[] };

/** Reads and validates a pack folder: every problem of task.json, of the files on disk and of the pack they make. */
export async function loadTaskPack(dir: string): Promise<PackLoad> {
  const problems: Problem[] = [];
  let task: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(await readFile(join(dir, 'task.json'), 'utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) task = parsed as Record<string, unknown>;
    else problems.push({ path: 'task.json', message: 'must be a JSON object' });
  } catch (e) {
    problems.push({ path: 'task.json', message: `cannot be read as JSON (${e instanceof Error ? e.message : String(e)})` });
  }
  if ('pack' in task) problems.push({ path: 'pack', message: 'is computed from the folder; leave it out of task.json' });

  // The evaluation data is hidden in eval/, public in public-eval/: which one, the operator says by the folder's name,
  // not by a flag that a typo could flip.
  const [hiddenEval, publicEval] = await Promise.all([lstat(join(dir, 'eval')).catch(() => null), lstat(join(dir, 'public-eval')).catch(() => null)]);
  const evalPublic = publicEval !== null && hiddenEval === null;
  if (hiddenEval && publicEval) problems.push({ path: 'public-eval/', message: 'give the evaluation data in eval/ (hidden) or public-eval/ (public), not both' });
  const files = { harness: [], eval: [], data: [] } as LoadedPack['files'];
  for (const part of PACK_PARTS) files[part] = await listFiles(dir, part, evalPublic && part === 'eval' ? 'public-eval' : part, problems);

  const replay = (task.replay ?? {}) as Record<string, unknown>;
  const harnessSpec = (replay.harness ?? {}) as Record<string, unknown>;
  const strip = (list: (PackFile & { local: string })[]) => list.map(({ path, sha256, bytes }) => ({ path, sha256, bytes }));
  const pack = toTaskPack({
    harness: { command: harnessSpec.command as string[], files: strip(files.harness), limits: (harnessSpec.limits ?? {}) as never },
    evalData: { files: strip(files.eval), ...(evalPublic ? { public: true as const } : {}) },
    trainData: { files: strip(files.data) },
  });
  const definition = { ...task, pack };
  const checked = checkTaskDefinition(definition);
  if (!checked.ok) problems.push(...toFolderProblems(checked.problems, files, evalPublic));
  const circuit = await loadCircuitFolder(join(dir, 'circuit'), problems);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, pack: { definition, files, circuit } };
}

/**
 * DIR/circuit/, when present: verification_key.json, one *.wasm (witness generator), one *.zkey (proving key),
 * eval.csv (the public rows the circuit scores) and params.json ({ id, evalSetCommitment, shardCommitments }).
 */
async function loadCircuitFolder(root: string, problems: Problem[]): Promise<LoadedCircuit | null> {
  const st = await lstat(root).catch(() => null);
  if (!st) return null;
  if (!st.isDirectory()) {
    problems.push({ path: 'circuit/', message: 'must be a folder' });
    return null;
  }
  const names = (await readdir(root, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  const one = (what: string, pick: (n: string) => boolean) => {
    const found = names.filter(pick);
    if (found.length !== 1) problems.push({ path: 'circuit/', message: `needs exactly one ${what} (found ${found.length})` });
    return found.length === 1 ? join(root, found[0]!) : null;
  };
  const paths = {
    vkey: one('verification_key.json', (n) => n === 'verification_key.json'),
    params: one('params.json', (n) => n === 'params.json'),
    wasm: one('*.wasm', (n) => n.endsWith('.wasm')),
    zkey: one('*.zkey', (n) => n.endsWith('.zkey')),
    evalData: one('eval.csv', (n) => n === 'eval.csv'),
  };
  if (Object.values(paths).some((p) => p === null)) return null;
  const local = async (path: string): Promise<LocalFile> => ({ sha256: await sha256File(path), bytes: (await lstat(path)).size, local: path });
  const built = { wasm: await local(paths.wasm!), zkey: await local(paths.zkey!), evalData: await local(paths.evalData!) };
  let params: Record<string, unknown> = {};
  try {
    params = JSON.parse(await readFile(paths.params!, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    problems.push({ path: 'circuit/params.json', message: `cannot be read as JSON (${e instanceof Error ? e.message : String(e)})` });
    return null;
  }
  const vkey = await readFile(paths.vkey!, 'utf8');
  const { id, ...layout } = params;
  const strip = ({ sha256, bytes }: LocalFile) => ({ sha256, bytes });
  const candidate = {
    id,
    protocol: 'groth16',
    vkey,
    vkeySha256: createHash('sha256').update(vkey).digest('hex'),
    params: layout,
    build: { wasm: strip(built.wasm), zkey: strip(built.zkey), evalData: strip(built.evalData) },
  };
  const checked = circuitRegistrationSchema.safeParse(candidate);
  if (!checked.success) {
    for (const issue of checked.error.issues) problems.push({ path: `circuit/${issue.path.join('.')}`, message: issue.message });
    return null;
  }
  return { registration: checked.data, files: built };
}

const FOLDER_OF: Record<string, Part> = { harness: 'harness', evalData: 'eval', trainData: 'data' };

/**
 * The pack is computed from the folder, so its problems are named as the operator sees them: a file by its place in
 * the folder, the harness command and limits at replay.harness (where task.json states them, once), and the two
 * digests not at all (this command computes them).
 */
function toFolderProblems(problems: Problem[], files: LoadedPack['files'], evalPublic: boolean): Problem[] {
  const out = new Map<string, Problem>();
  for (const p of problems) {
    let path = p.path;
    if (path === 'pack.harnessSha256' || path === 'pack.evalDataSha256') continue;
    const file = /^pack\.(harness|evalData|trainData)\.files(?:\.(\d+))?/.exec(path);
    if (file) {
      const part = FOLDER_OF[file[1]!]!;
      const folder = part === 'eval' && evalPublic ? 'public-eval' : part;
      path = file[2] === undefined ? `${folder}/` : `${folder}/${files[part][Number(file[2])]?.path ?? file[2]}`;
    } else path = path.replace(/^pack\.harness\.(command|limits)/, 'replay.harness.$1');
    out.set(`${path}\n${p.message}`, { path, message: p.message });
  }
  return [...out.values()];
}

/**
 * The regular files under DIR/part, by relative path. Links, devices and other non-regular files are problems: a pack
 * is what the operator can see in the folder, and a link could pull in a file from anywhere on this machine.
 */
async function listFiles(dir: string, part: Part, folder: string, problems: Problem[]): Promise<(PackFile & { local: string })[]> {
  const root = join(dir, folder);
  const out: (PackFile & { local: string })[] = [];
  const rootStat = await lstat(root).catch(() => null);
  if (!rootStat) {
    if (part !== 'data') problems.push({ path: `${folder}/`, message: part === 'eval' ? 'missing folder (or public-eval/)' : 'missing folder' });
    return out;
  }
  if (!rootStat.isDirectory()) {
    problems.push({ path: `${folder}/`, message: 'must be a folder' });
    return out;
  }
  const todo = [''];
  while (todo.length > 0) {
    const rel = todo.pop()!;
    for (const entry of (await readdir(join(root, rel), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      const shown = `${folder}/${path}`;
      if (entry.isDirectory()) {
        todo.push(path);
        continue;
      }
      if (!entry.isFile()) {
        problems.push({ path: shown, message: entry.isSymbolicLink() ? 'is a symbolic link; copy the file into the pack' : 'is not a regular file' });
        continue;
      }
      const name = packPathSchema.safeParse(path);
      if (!name.success) {
        problems.push({ path: shown, message: `file name: ${name.error.issues[0]?.message ?? 'invalid'}` });
        continue;
      }
      const local = join(root, path);
      const { size } = await lstat(local);
      if (size > MAX_PACK_FILE_BYTES) {
        problems.push({ path: shown, message: `over ${MAX_PACK_FILE_BYTES} bytes` });
        continue;
      }
      if (out.length === MAX_PACK_FILES) {
        problems.push({ path: `${folder}/`, message: `more than ${MAX_PACK_FILES} files` });
        return out;
      }
      out.push({ path, sha256: await sha256File(local), bytes: size, local });
    }
  }
  return out;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
