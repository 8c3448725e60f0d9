// Lays out a task pack's files on this machine for the two replay stages: the harness (stage 2's /harness), the hidden
// evaluation data (stage 2's /eval) and the training data (stage 1's /data), each file written under its pack path
// after its bytes were checked against the pin.
//
// Threats: a server, a blob store or a network path that hands back other bytes than the task pins (a swapped harness
// would score anything as the best, swapped evaluation data would change what is measured): every file is hashed as it
// is written and refused on any difference, before a sandbox sees it; a source that sends more than the pinned size is
// cut off at once instead of filling the disk. Pack paths are relative and free of `..` (packPathSchema), and each file
// is created with O_EXCL, so two pack entries cannot write through one another.
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { PackFile, TaskPack } from '../attest/task-pack.ts';

/** Where the bytes of a pinned file come from: the worker's signed download during its lease, a folder in tests. */
export type PackFileSource = (file: PackFile) => Promise<AsyncIterable<Uint8Array> | Uint8Array>;

/** The pack's bytes did not match its pin: the machine's or the server's fault, never the claim's. */
export class PackFileMismatchError extends Error {
  override readonly name = 'PackFileMismatchError';
}

export type PackFolders = { harnessDir: string; evalDir: string; dataDir: string };

/**
 * Writes the pack's three parts under `root` (harness/, eval/, data/; folders 0755 and files 0644, owned by the trusted
 * side, so a sandbox uid can read but not change them) and returns their folders. Throws PackFileMismatchError when a
 * file is not what the pack pins.
 */
export async function materializePack(root: string, pack: TaskPack, source: PackFileSource): Promise<PackFolders> {
  const folders = { harnessDir: join(root, 'harness'), evalDir: join(root, 'eval'), dataDir: join(root, 'data') };
  const parts: [string, readonly PackFile[]][] = [
    [folders.harnessDir, pack.harness.files],
    [folders.evalDir, pack.evalData.files],
    [folders.dataDir, pack.trainData.files],
  ];
  await mkdir(root, { mode: 0o755 });
  for (const [dir, files] of parts) {
    await mkdir(dir, { mode: 0o755 });
    for (const file of files) await writePinned(dir, file, source);
  }
  return folders;
}

async function writePinned(dir: string, file: PackFile, source: PackFileSource): Promise<void> {
  const path = join(dir, file.path);
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  const hash = createHash('sha256');
  let written = 0;
  try {
    const body = await source(file);
    for await (const chunk of body instanceof Uint8Array ? [body] : body) {
      written += chunk.length;
      if (written > file.bytes) throw new PackFileMismatchError(`pack file ${file.path}: more than its pinned ${file.bytes} bytes`);
      hash.update(chunk);
      await handle.write(chunk);
    }
  } finally {
    await handle.close();
  }
  if (written !== file.bytes) throw new PackFileMismatchError(`pack file ${file.path}: ${written} bytes, pinned ${file.bytes}`);
  const digest = hash.digest('hex');
  if (digest !== file.sha256) throw new PackFileMismatchError(`pack file ${file.path}: sha256 ${digest}, pinned ${file.sha256}`);
}
