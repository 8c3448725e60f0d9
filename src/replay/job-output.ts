// Reads a file a sandboxed job left in its work folder, from the trusted side (as root), without trusting anything
// about it. The job chose the name's target: a symlink to /etc/shadow, to the reference model in the worker's own
// checkout, to /proc/self/pagemap (reads gigabytes), to /proc/kmsg (blocks forever), a FIFO (blocks), a folder, a
// hard link to a file of another user. Each of these is refused here, and a refusal is an ordinary result: the
// job's output was unusable, which is the job's fault and ends its claim.
import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { join } from 'node:path';

export type JobOutputRefusal = 'missing' | 'symlink' | 'not_regular_file' | 'wrong_owner' | 'too_large' | 'unreadable';

export type JobOutputRead = { ok: true; bytes: Buffer } | { ok: false; reason: JobOutputRefusal; message: string };

// One plain name: every folder above the file is the trusted side's own, so O_NOFOLLOW on the last component is the
// only link the job can plant. A path with folders in it would need each component opened without following links.
const PLAIN_NAME = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,128}$/;

/**
 * Opens `workDir/name` with O_NOFOLLOW (a symlink fails with ELOOP instead of being followed) and O_NONBLOCK (a FIFO
 * opens at once instead of waiting for a writer), then decides on the open descriptor (fstat), never on the path,
 * so nothing can be swapped between the check and the read. Reads at most `maxBytes` (+1 to notice more).
 * `ownerUid` is the job's uid: a file the job wrote is its own, so anything else reached the folder by a link.
 */
export async function readJobOutput(workDir: string, name: string, maxBytes: number, ownerUid?: number): Promise<JobOutputRead> {
  if (!PLAIN_NAME.test(name)) throw new RangeError(`job output name must be one plain file name, got ${JSON.stringify(name)}`);
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new RangeError('maxBytes must be a non-negative integer');
  let handle;
  try {
    handle = await open(join(workDir, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, reason: 'missing', message: `training left no ${name}` };
    if (code === 'ELOOP') return { ok: false, reason: 'symlink', message: `${name} is a symbolic link; outputs must be regular files` };
    return { ok: false, reason: 'unreadable', message: `${name} could not be opened (${code ?? 'error'})` };
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return { ok: false, reason: 'not_regular_file', message: `${name} is not a regular file (${fileKind(info)})` };
    if (ownerUid !== undefined && info.uid !== ownerUid) {
      return { ok: false, reason: 'wrong_owner', message: `${name} is not a file the job wrote (owner uid ${info.uid})` };
    }
    if (info.size > maxBytes) return { ok: false, reason: 'too_large', message: `${name} is ${info.size} bytes, over ${maxBytes}` };
    // The size from fstat is a hint only (a file can be sparse or, in theory, still grow): the cap is on the bytes read.
    const buffer = Buffer.alloc(maxBytes + 1);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled > maxBytes) return { ok: false, reason: 'too_large', message: `${name} is over ${maxBytes} bytes` };
    return { ok: true, bytes: buffer.subarray(0, filled) };
  } catch (error) {
    return { ok: false, reason: 'unreadable', message: `${name} could not be read (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * Like readJobOutput for a relative path with folders (`out/model.bin`, a task's declared output). Each folder on the
 * way is checked with lstat to be a real folder owned by the job, not a link: sound only because every process of the
 * job is gone when outputs are read (the sandbox kills its whole cgroup before returning), so nothing can swap a
 * folder for a link between this check and the open; the last component is opened with O_NOFOLLOW as above.
 */
export async function readJobOutputPath(workDir: string, path: string, maxBytes: number, ownerUid?: number): Promise<JobOutputRead> {
  const parts = path.split('/');
  const name = parts.pop()!;
  if (!PLAIN_NAME.test(name) || !parts.every((p) => PLAIN_NAME.test(p))) {
    throw new RangeError(`job output path must be plain names joined by /, got ${JSON.stringify(path)}`);
  }
  let dir = workDir;
  for (const part of parts) {
    dir = join(dir, part);
    const info = await lstat(dir).catch((error: NodeJS.ErrnoException) => error);
    if (info instanceof Error) {
      if (info.code === 'ENOENT') return { ok: false, reason: 'missing', message: `training left no ${path}` };
      return { ok: false, reason: 'unreadable', message: `${path} could not be opened (${info.code ?? 'error'})` };
    }
    if (info.isSymbolicLink()) return { ok: false, reason: 'symlink', message: `${path}: ${part} is a symbolic link; outputs must be regular files` };
    if (!info.isDirectory()) return { ok: false, reason: 'not_regular_file', message: `${path}: ${part} is not a folder` };
    if (ownerUid !== undefined && info.uid !== ownerUid) {
      return { ok: false, reason: 'wrong_owner', message: `${path}: ${part} is not a folder the job made (owner uid ${info.uid})` };
    }
  }
  const read = await readJobOutput(dir, name, maxBytes, ownerUid);
  // Name the declared path in messages, not only its last component.
  return read.ok || parts.length === 0 ? read : { ...read, message: `${path}: ${read.message}` };
}

function fileKind(info: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (info.isDirectory()) return 'a folder';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  return 'not a file';
}
