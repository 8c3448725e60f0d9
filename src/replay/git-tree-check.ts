// Pure checks of an untrusted commit's file list (`git ls-tree -r -l -z`) and of its symlinks, done before
// anything is written out and again on what was written.
import { posix } from 'node:path';

export type TreeRejection =
  | 'tree_too_large'
  | 'object_too_large'
  | 'path_unsafe'
  | 'symlink_escapes'
  | 'submodule'
  | 'unsupported_mode';

export type TreeEntryKind = 'file' | 'executable' | 'symlink';

export interface TreeEntry {
  path: string;
  kind: TreeEntryKind;
  size: number;
}

export interface TreeLimits {
  maxEntries: number;
  maxObjectBytes: number;
  maxTotalBytes: number;
}

export type TreeCheck =
  | { ok: true; entries: TreeEntry[]; totalBytes: number }
  | { ok: false; reason: TreeRejection; detail: string };

const MODES: Record<string, TreeEntryKind> = { '100644': 'file', '100755': 'executable', '120000': 'symlink' };
const MAX_PATH_BYTES = 4096;
const MAX_NAME_BYTES = 255;
const MAX_SYMLINK_HOPS = 40;
const utf8 = new TextDecoder('utf-8', { fatal: true });

const reject = (reason: TreeRejection, detail: string): TreeCheck => ({ ok: false, reason, detail });

export function checkTreeListing(listing: Buffer, limits: TreeLimits): TreeCheck {
  const entries: TreeEntry[] = [];
  const seen = new Map<string, TreeEntryKind>();
  let totalBytes = 0;
  let start = 0;
  while (start < listing.length) {
    const end = listing.indexOf(0, start);
    if (end < 0) return reject('path_unsafe', 'unterminated ls-tree record');
    const record = listing.subarray(start, end);
    start = end + 1;
    if (entries.length >= limits.maxEntries) return reject('tree_too_large', `more than ${limits.maxEntries} entries`);
    const tab = record.indexOf(0x09);
    if (tab < 0) return reject('path_unsafe', 'malformed ls-tree record');
    const [mode, type, , sizeText] = record.subarray(0, tab).toString('latin1').trim().split(/ +/);
    let path: string;
    try {
      path = utf8.decode(record.subarray(tab + 1));
    } catch {
      // A name that is not UTF-8 could not be compared with what lands on disk.
      return reject('path_unsafe', 'path is not valid UTF-8');
    }
    if (mode === '160000' || type === 'commit') return reject('submodule', `submodule at ${JSON.stringify(path)}`);
    const kind = MODES[mode ?? ''];
    if (kind === undefined || type !== 'blob') return reject('unsupported_mode', `mode ${mode} at ${JSON.stringify(path)}`);
    const pathProblem = findPathProblem(path);
    if (pathProblem) return reject('path_unsafe', `${pathProblem}: ${JSON.stringify(path)}`);
    const size = Number(sizeText);
    if (!Number.isSafeInteger(size) || size < 0) return reject('path_unsafe', `bad size ${sizeText}`);
    // Checked from the object header before any byte is written: a 2 GB blob never reaches the disk.
    if (size > limits.maxObjectBytes) {
      return reject('object_too_large', `${JSON.stringify(path)} is ${size} bytes (limit ${limits.maxObjectBytes})`);
    }
    totalBytes += size;
    if (totalBytes > limits.maxTotalBytes) return reject('tree_too_large', `more than ${limits.maxTotalBytes} bytes`);
    if (seen.has(path)) return reject('path_unsafe', `duplicate path ${JSON.stringify(path)}`);
    seen.set(path, kind);
    entries.push({ path, kind, size });
  }
  // A file or symlink that is also a folder of another entry: writing "a/x" through a symlink "a" is how
  // checkouts have been tricked into writing outside the tree.
  for (const path of seen.keys()) {
    for (let dir = posix.dirname(path); dir !== '.'; dir = posix.dirname(dir)) {
      if (seen.has(dir)) return reject('path_unsafe', `${JSON.stringify(dir)} is both a file and a folder`);
    }
  }
  return { ok: true, entries, totalBytes };
}

/** Why a repository path may not be written out, or undefined when it is fine. */
export function findPathProblem(path: string): string | undefined {
  if (path.length === 0) return 'empty path';
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) return 'path too long';
  // Control characters (newlines above all) would forge lines in logs and listings.
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'control character in path';
  if (path.startsWith('/')) return 'absolute path';
  for (const name of path.split('/')) {
    if (name === '' || name === '.' || name === '..') return 'path traversal';
    if (Buffer.byteLength(name) > MAX_NAME_BYTES) return 'name too long';
    // A nested .git folder would give the tree its own hooks and config the next time git runs in it.
    if (name.toLowerCase() === '.git') return '.git in path';
  }
  return undefined;
}

/**
 * Resolves every symlink of the tree as the kernel would, through the other symlinks of the tree, and
 * rejects any that is absolute or ends outside the tree. A purely lexical check is not enough:
 * `a -> .` and `b -> a/..` each look harmless and `b` still names the tree's parent.
 */
export function checkSymlinks(links: Map<string, string>): { ok: true } | { ok: false; reason: 'symlink_escapes'; detail: string } {
  for (const [path, target] of links) {
    const escape = resolveInside(path, target, links);
    if (escape) return { ok: false, reason: 'symlink_escapes', detail: `${JSON.stringify(path)} -> ${JSON.stringify(target)}: ${escape}` };
  }
  return { ok: true };
}

function resolveInside(path: string, target: string, links: Map<string, string>): string | undefined {
  if (target.length === 0) return 'empty target';
  if (target.startsWith('/')) return 'absolute target';
  const stack = posix.dirname(path) === '.' ? [] : posix.dirname(path).split('/');
  const pending = target.split('/').reverse();
  let hops = 0;
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (name === '' || name === '.') continue;
    if (name === '..') {
      if (stack.length === 0) return 'leaves the tree';
      stack.pop();
      continue;
    }
    const here = [...stack, name].join('/');
    const next = links.get(here);
    if (next === undefined) {
      stack.push(name);
      continue;
    }
    hops += 1;
    if (hops > MAX_SYMLINK_HOPS) return 'symlink loop';
    if (next.startsWith('/')) return 'goes through an absolute symlink';
    pending.push(...next.split('/').reverse());
  }
  return undefined;
}
