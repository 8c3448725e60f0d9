// A job's folders on the host: a capped file system for each work folder, and their removal.
//
// Threats: a job that fills the host's disk (RLIMIT_FSIZE caps one file, not the total, nor the number of
// files), and a job that leaves behind a tree the trusted side cannot remove (a 3000-deep folder chain,
// chmod 000 folders, read-only files) or that tricks the removal into following a link out of its tree.
//
// The work folder is a tmpfs with `size=` and `nr_inodes=`: the kernel answers ENOSPC past either, whatever
// the job does. Its pages are charged to the memory cgroup of the process that writes them, that is the job,
// so the job's memory limit bounds its files too (memory + files <= memoryBytes); they are freed when the
// folder is unmounted. A loop-mounted disk image would spare RAM but costs an image and a mkfs per run.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, realpath, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { SandboxUnavailableError } from './sandbox-unavailable.ts';

export const JOB_FOLDER_PREFIX = 'proofboard-job-';
const OWNER_FILE = 'owner.json';
const TOOLS = { mount: '/usr/bin/mount', umount: '/usr/bin/umount', rm: '/usr/bin/rm' } as const;

export interface WorkFolderLimits {
  /** Total bytes the job may store in the folder (tmpfs `size=`, rounded up to whole pages). */
  diskBytes: number;
  /** Files, folders and links the job may create in it (tmpfs `nr_inodes=`; the folder itself is one). */
  maxInodes: number;
  /** The job's uid (and gid): the folder's owner. */
  uid: number;
}

/** A SandboxUnavailableError: without a capped work folder the machine must not replay. */
export class WorkFolderUnavailableError extends SandboxUnavailableError {
  override readonly name: string = 'WorkFolderUnavailableError';
}

const run = (file: string, args: string[]): Promise<{ ok: boolean; message: string }> =>
  new Promise((done) => {
    execFile(file, args, { env: { PATH: '/usr/bin:/bin', LANG: 'C' } }, (error, stdout, stderr) =>
      done({ ok: error === null, message: `${stderr}${stdout}`.trim() || (error?.message ?? '') }),
    );
  });

const assertCount = (name: string, value: number): void => {
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`work folder: ${name} must be a positive integer, got ${value}`);
};

/**
 * Makes `path` (a new or empty folder whose parent the trusted side owns) a tmpfs of at most `diskBytes` and
 * `maxInodes`, owned by the job's uid, mode 0700, nosuid and nodev. There is no uncapped fallback: when the
 * mount fails it throws WorkFolderUnavailableError naming what is missing.
 */
export async function createWorkFolder(path: string, limits: WorkFolderLimits): Promise<void> {
  assertCount('diskBytes', limits.diskBytes);
  assertCount('maxInodes', limits.maxInodes);
  assertCount('uid', limits.uid);
  if (!isAbsolute(path)) throw new Error(`work folder: ${path} is not an absolute path`);
  const missingTools = findMissingTools();
  if (missingTools.length > 0) throw new WorkFolderUnavailableError(missingTools);
  await mkdir(path, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  // mount(8) follows links: a link here would put the file system (and the job) elsewhere.
  const info = await lstat(path);
  if (!info.isDirectory()) throw new Error(`work folder: ${path} is not a folder (or is a link)`);
  const physical = await realpath(path);
  if ((await mountPointsUnder(physical)).length > 0) throw new Error(`work folder: ${path} is already a mount point`);
  if ((await readdir(path)).length > 0) throw new Error(`work folder: ${path} is not empty`);
  const options = [
    `size=${limits.diskBytes}`,
    `nr_inodes=${limits.maxInodes}`,
    'mode=0700',
    `uid=${limits.uid}`,
    `gid=${limits.uid}`,
    // Nothing the job stores may act as a device node or gain privileges when run.
    'nosuid',
    'nodev',
  ].join(',');
  const mounted = await run(TOOLS.mount, ['-t', 'tmpfs', '-o', options, 'tmpfs', physical]);
  if (!mounted.ok) {
    throw new WorkFolderUnavailableError([
      `permission to mount a tmpfs for the job's capped work folder (${mounted.message}; the worker must run as root ` +
        'with CAP_SYS_ADMIN in its mount namespace)',
    ]);
  }
}

/** Bytes and inodes left in a folder's file system; for a capped work folder, what the job may still write. */
export async function workFolderFree(path: string): Promise<{ bytes: number; inodes: number; totalBytes: number }> {
  const info = await statfs(path);
  return { bytes: info.bavail * info.bsize, inodes: info.ffree, totalBytes: info.blocks * info.bsize };
}

let probed = false;

/** What createWorkFolder needs and lacks here (tools, permission to mount); empty when it can work. */
export async function findMissingWorkFolderSupport(tmpRoot = tmpdir()): Promise<string[]> {
  const missing = findMissingTools();
  if (missing.length > 0 || probed) return missing;
  // A job root of its own, so that a probe cut short by a kill is swept like any job's folder.
  const probe = await createJobRoot(tmpRoot);
  try {
    await createWorkFolder(join(probe, 'work'), { diskBytes: 64 * 1024, maxInodes: 16, uid: 65534 });
    await removeJobTree(probe);
    probed = true;
    return [];
  } catch (error) {
    await removeJobTree(probe).catch(() => undefined);
    return error instanceof WorkFolderUnavailableError ? error.missing : [`a capped work folder (${(error as Error).message})`];
  }
}

function findMissingTools(): string[] {
  const missing: string[] = [];
  for (const [name, path] of Object.entries(TOOLS)) {
    try {
      accessSync(path, constants.X_OK);
    } catch {
      missing.push(`${name} (${path}; Debian package "${name === 'rm' ? 'coreutils' : name}")`);
    }
  }
  return missing;
}

/**
 * Makes a job's root folder under `tmpRoot` (mode 0711: the job's uid can reach its work folder inside but not
 * list its neighbours) with a record of the worker that owns it, so that sweepStaleJobFolders removes it only
 * once that worker is gone.
 */
export async function createJobRoot(tmpRoot = tmpdir()): Promise<string> {
  const root = await mkdtemp(join(tmpRoot, JOB_FOLDER_PREFIX));
  await chmod(root, 0o711);
  await writeFile(join(root, OWNER_FILE), JSON.stringify(await ownerOf(process.pid)), { mode: 0o600 });
  return root;
}

/**
 * Removes a job's whole tree, made by the trusted side (its work folders are the job's): first every mount at or
 * under `root` (lazily when busy), then the files, without following links. Throws when something remains.
 *
 * GNU rm, run as root, walks with openat (so a folder chain deeper than PATH_MAX is removed, where Node's fs.rm
 * fails with ENAMETOOLONG), never follows a symlink (a link to a host file removes the link only), ignores the
 * modes the job set (chmod 000 folders, read-only files), and with --one-file-system never descends into a mount
 * that is still there.
 */
export async function removeJobTree(root: string): Promise<void> {
  if (!isAbsolute(root) || resolve(root) === '/') throw new Error(`removeJobTree: refusing ${JSON.stringify(root)}`);
  const info = await lstat(root).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (info === undefined) return;
  // A link here would make rm remove (and umount unmount) whatever it points to.
  if (!info.isDirectory()) throw new Error(`removeJobTree: ${root} is not a folder (or is a link)`);
  const physical = join(await realpath(dirname(resolve(root))), basename(resolve(root)));
  await unmountAllUnder(physical);
  const rm = await run(TOOLS.rm, ['-rf', '--one-file-system', '--', physical]);
  const left = await lstat(physical).then(() => true, () => false);
  if (left) throw new Error(`removeJobTree: ${physical} could not be removed: ${rm.message}`);
}

/**
 * Removes the `proofboard-job-*` folders (and their mounts) under `tmpRoot` that a killed worker left behind:
 * those whose owner record names a process that is gone, and those without a record older than `olderThanMs`
 * (made before the record existed, or by a worker killed before it wrote one). A live worker's job is never
 * touched, so several workers may share a machine.
 */
export async function sweepStaleJobFolders(
  tmpRoot = tmpdir(),
  options: { olderThanMs?: number; now?: number } = {},
): Promise<number> {
  const olderThanMs = options.olderThanMs ?? 24 * 60 * 60_000;
  const now = options.now ?? Date.now();
  let removed = 0;
  for (const name of await readdir(tmpRoot).catch(() => [] as string[])) {
    if (!name.startsWith(JOB_FOLDER_PREFIX)) continue;
    const root = join(tmpRoot, name);
    const info = await lstat(root).catch(() => undefined);
    if (!info?.isDirectory()) continue;
    const owner = await readFile(join(root, OWNER_FILE), 'utf8').then((text) => JSON.parse(text) as unknown, () => undefined);
    const stale = isOwnerRecord(owner) ? !(await isAlive(owner)) : now - info.mtimeMs >= olderThanMs;
    if (!stale) continue;
    await removeJobTree(root);
    removed += 1;
  }
  return removed;
}

type OwnerRecord = { pid: number; start: string; boot: string };

const isOwnerRecord = (value: unknown): value is OwnerRecord =>
  typeof value === 'object' && value !== null && typeof (value as OwnerRecord).pid === 'number' &&
  typeof (value as OwnerRecord).start === 'string' && typeof (value as OwnerRecord).boot === 'string';

// A pid alone could have been reused by another process since; its start time and the boot id tell them apart.
async function ownerOf(pid: number): Promise<OwnerRecord> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: count fields after its closing parenthesis.
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  const boot = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '')).trim();
  return { pid, start, boot };
}

async function isAlive(owner: OwnerRecord): Promise<boolean> {
  const now = await ownerOf(owner.pid).catch(() => undefined);
  return now !== undefined && now.start === owner.start && now.boot === owner.boot;
}

/** Mount points at or under `root` in this mount namespace, deepest first. */
export async function mountPointsUnder(root: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const found: string[] = [];
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (field === undefined) continue;
    // mountinfo escapes space, tab, newline and backslash as octal (proc(5)).
    const point = field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
    if (point === root || point.startsWith(`${root}/`)) found.push(point);
  }
  return found.sort((a, b) => b.split('/').length - a.split('/').length);
}

// The mount points listed are the trusted side's own (a job cannot mount in the host's namespace: its own is
// private and seccomp refuses mount), so unmounting them by path cannot be redirected by the job.
async function unmountAllUnder(root: string): Promise<void> {
  for (let round = 0; round < 64; round += 1) {
    const points = await mountPointsUnder(root);
    if (points.length === 0) return;
    for (const point of points) {
      const plain = await run(TOOLS.umount, ['--no-canonicalize', point]);
      // Busy (a process still has a file open there): detach it now, the kernel frees it when the last user goes.
      if (!plain.ok) await run(TOOLS.umount, ['--no-canonicalize', '--lazy', point]);
    }
  }
  const left = await mountPointsUnder(root);
  if (left.length > 0) throw new Error(`removeJobTree: could not unmount ${left.join(', ')}`);
}
