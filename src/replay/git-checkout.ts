// Checks out one commit of an untrusted git bundle into a fresh folder.
//
// Threats: the bundle is hostile input to git itself (pack parsing, zlib and delta bombs), and a checkout
// can run code (hooks, filter drivers from the host's git config, fsmonitor), convert content
// (.gitattributes eol/ident/encoding), or write outside the tree (symlinked folders, "..", ".git" paths,
// a long history of git CVEs of exactly this kind). So:
// - git runs only inside the replay sandbox, with the host's git config hidden and hooks, fsmonitor and
//   every transport disabled; whatever git does, it sees only the bundle (read-only) and its work folder;
// - the file list is checked before anything is written: modes, paths, sizes from the object headers
//   (a 2 GB blob is refused without being written out), files that are also folders;
// - what was written is walked again without following links, compared with the list, every symlink
//   resolved through the tree's own links, and ownership handed back to root.
import { copyFile, lstat, mkdir, readdir, readlink, rm, lchown, chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkSymlinks, checkTreeListing, type TreeEntryKind, type TreeLimits, type TreeRejection } from './git-tree-check.ts';
import { allocateSandboxUid, runInSandbox, SANDBOX_INPUT_DIR, SANDBOX_WORK_DIR, type SandboxResult } from './sandbox.ts';

export interface GitCheckoutLimits extends TreeLimits {
  maxBundleBytes: number;
  /** Wall time of each git step. */
  stepWallTimeMs: number;
  memoryBytes: number;
}

export const DEFAULT_GIT_CHECKOUT_LIMITS: GitCheckoutLimits = {
  maxBundleBytes: 256 * 1024 ** 2,
  maxObjectBytes: 64 * 1024 ** 2,
  maxTotalBytes: 512 * 1024 ** 2,
  maxEntries: 20_000,
  stepWallTimeMs: 120_000,
  memoryBytes: 1024 ** 3,
};

export type GitCheckoutRejection =
  | TreeRejection
  | 'bundle_too_large'
  | 'bundle_invalid'
  | 'commit_invalid'
  | 'commit_missing'
  | 'git_limit_exceeded';

export type GitCheckoutResult =
  | { ok: true; treeDir: string; files: number; totalBytes: number }
  | { ok: false; reason: GitCheckoutRejection; detail: string };

export interface GitCheckoutRequest {
  bundlePath: string;
  /** Full hex object name; abbreviations are refused (they could match an attacker's second object). */
  commit: string;
  /** A folder that does not exist yet; the tree lands in `<destDir>/work/tree`. */
  destDir: string;
  limits?: Partial<GitCheckoutLimits>;
}

const COMMIT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const REPO = `${SANDBOX_WORK_DIR}/repo.git`;
const TREE = `${SANDBOX_WORK_DIR}/tree`;
const BUNDLE = `${SANDBOX_INPUT_DIR}/commit.bundle`;
const GIT_ENV = {
  // The host's /etc/gitconfig and ~/.gitconfig could define filter drivers or credential helpers.
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_DIR: REPO,
  GIT_TERMINAL_PROMPT: '0',
  GIT_NO_REPLACE_OBJECTS: '1',
};
const GIT_CONFIG = [
  '-c', 'core.hooksPath=/dev/null',
  '-c', 'core.fsmonitor=false',
  '-c', 'protocol.allow=never',
  '-c', 'core.attributesFile=/dev/null',
  '-c', 'core.symlinks=true',
  '-c', 'core.autocrlf=false',
  // Big blobs are streamed instead of held in memory.
  '-c', 'core.bigFileThreshold=1m',
];
// Highest-precedence attributes: no filter, eol, ident or encoding conversion of the tree's own
// .gitattributes applies; files land byte for byte as committed.
const NEUTRAL_ATTRIBUTES = '* -text -eol -crlf -filter -ident -working-tree-encoding\n';

export async function checkoutBundle(request: GitCheckoutRequest): Promise<GitCheckoutResult> {
  const limits = { ...DEFAULT_GIT_CHECKOUT_LIMITS, ...request.limits };
  const commit = request.commit.toLowerCase();
  if (!COMMIT.test(commit)) return { ok: false, reason: 'commit_invalid', detail: 'commit must be a full hex object name' };
  const bundleInfo = await lstat(request.bundlePath);
  if (!bundleInfo.isFile()) throw new Error(`git-checkout: ${request.bundlePath} is not a regular file`);
  // Refused before git reads a byte of it.
  if (bundleInfo.size > limits.maxBundleBytes) {
    return { ok: false, reason: 'bundle_too_large', detail: `${bundleInfo.size} bytes (limit ${limits.maxBundleBytes})` };
  }

  // Fails when destDir exists: only a folder made here is ever removed below.
  await mkdir(request.destDir, { mode: 0o711 });
  try {
    const result = await checkoutInto(request.destDir, request.bundlePath, commit, limits);
    if (!result.ok) await rm(request.destDir, { recursive: true, force: true });
    return result;
  } catch (error) {
    await rm(request.destDir, { recursive: true, force: true });
    throw error;
  }
}

async function checkoutInto(destDir: string, bundlePath: string, commit: string, limits: GitCheckoutLimits): Promise<GitCheckoutResult> {
  const inputDir = join(destDir, 'input');
  const workDir = join(destDir, 'work');
  await chmod(destDir, 0o711);
  await mkdir(inputDir, { mode: 0o755 });
  await chmod(inputDir, 0o755);
  // A private copy: binding the bundle's own folder would show the job its neighbours in the blob store.
  await copyFile(bundlePath, join(inputDir, 'commit.bundle'));
  await chmod(join(inputDir, 'commit.bundle'), 0o644);
  await mkdir(workDir, { mode: 0o755 });

  const uid = allocateSandboxUid();
  const git = (args: string[], outputCapBytes = 1024 ** 2) =>
    runInSandbox({
      command: ['/usr/bin/git', ...GIT_CONFIG, ...args],
      workDir,
      inputDir,
      env: GIT_ENV,
      uid,
      limits: {
        wallTimeMs: limits.stepWallTimeMs,
        cpuSeconds: Math.ceil(limits.stepWallTimeMs / 1000),
        memoryBytes: limits.memoryBytes,
        maxProcesses: 64,
        maxFileBytes: Math.max(limits.maxBundleBytes, limits.maxObjectBytes) * 2 + 1024 ** 2,
        outputCapBytes,
        outputKillBytes: outputCapBytes * 2 + 1024,
      },
    });
  const failure = (step: string, result: SandboxResult, reason: GitCheckoutRejection): GitCheckoutResult => ({
    ok: false,
    reason: result.killReason !== 'none' ? 'git_limit_exceeded' : reason,
    detail: `${step}: ${result.killReason !== 'none' ? `killed (${result.killReason})` : `exit ${result.exitCode}`}: ${result.stderr.toString('utf8').trim().slice(0, 500)}`,
  });

  const init = await git(['init', '--quiet', REPO]);
  if (init.exitCode !== 0) throw new Error(`git-checkout: git init failed: ${init.stderr.toString()}`);
  await writeFile(join(workDir, 'repo.git', 'info', 'attributes'), NEUTRAL_ATTRIBUTES);

  const verify = await git(['bundle', 'verify', '--quiet', BUNDLE]);
  if (verify.exitCode !== 0) return failure('bundle verify', verify, 'bundle_invalid');
  const unbundle = await git(['bundle', 'unbundle', BUNDLE]);
  if (unbundle.exitCode !== 0) return failure('bundle unbundle', unbundle, 'bundle_invalid');
  const type = await git(['cat-file', '-t', commit]);
  if (type.exitCode !== 0 || type.stdout.toString().trim() !== 'commit') {
    return { ok: false, reason: 'commit_missing', detail: `${commit} is not a commit of the bundle` };
  }

  const listingCap = limits.maxEntries * 4200;
  const listing = await git(['ls-tree', '-r', '-l', '-z', '--full-tree', commit], listingCap);
  if (listing.stdoutTruncated) return { ok: false, reason: 'tree_too_large', detail: 'file list over its size cap' };
  if (listing.exitCode !== 0) return failure('ls-tree', listing, 'bundle_invalid');
  const tree = checkTreeListing(listing.stdout, limits);
  if (!tree.ok) return tree;

  const readTree = await git(['read-tree', commit]);
  if (readTree.exitCode !== 0) return failure('read-tree', readTree, 'bundle_invalid');
  await mkdir(join(workDir, 'tree'));
  await lchown(join(workDir, 'tree'), uid, uid);
  const checkout = await git([`--work-tree=${TREE}`, 'checkout-index', '--all', '--force']);
  if (checkout.exitCode !== 0) return failure('checkout-index', checkout, 'bundle_invalid');

  const treeDir = join(workDir, 'tree');
  const expected = new Map<string, TreeEntryKind>(tree.entries.map((entry) => [entry.path, entry.kind]));
  const written = await walkWritten(treeDir, expected, limits.maxObjectBytes);
  if (!written.ok) return written;
  const symlinks = checkSymlinks(written.links);
  if (!symlinks.ok) return symlinks;
  await rm(join(workDir, 'repo.git'), { recursive: true, force: true });
  await rm(inputDir, { recursive: true, force: true });
  await lchown(workDir, 0, 0);
  return { ok: true, treeDir, files: tree.entries.length, totalBytes: tree.totalBytes };
}

type Walk = { ok: true; links: Map<string, string> } | { ok: false; reason: TreeRejection; detail: string };

/**
 * Compares the written tree with the checked list without following any link, and gives every entry
 * back to root: a later job (another uid) may read the tree but not change it.
 */
async function walkWritten(treeDir: string, expected: Map<string, TreeEntryKind>, maxObjectBytes: number): Promise<Walk> {
  const links = new Map<string, string>();
  const found = new Set<string>();
  const visit = async (dir: string, prefix: string): Promise<Walk | undefined> => {
    for (const name of await readdir(dir)) {
      const path = prefix ? `${prefix}/${name}` : name;
      const full = join(dir, name);
      const info = await lstat(full);
      await lchown(full, 0, 0);
      if (info.isDirectory()) {
        const inner = await visit(full, path);
        if (inner) return inner;
        continue;
      }
      const kind = expected.get(path);
      const actual: TreeEntryKind | undefined = info.isSymbolicLink()
        ? 'symlink'
        : info.isFile()
          ? (info.mode & 0o100) !== 0 ? 'executable' : 'file'
          : undefined;
      if (kind === undefined || actual !== kind) {
        return { ok: false, reason: 'path_unsafe', detail: `unexpected ${actual ?? 'special file'} ${JSON.stringify(path)} after checkout` };
      }
      if (info.isFile() && info.size > maxObjectBytes) {
        return { ok: false, reason: 'object_too_large', detail: `${JSON.stringify(path)} is ${info.size} bytes` };
      }
      if (actual === 'symlink') links.set(path, await readlink(full));
      found.add(path);
    }
    return undefined;
  };
  // The work folder belonged to the job's uid: a compromised git could have swapped the tree for a link
  // to a host folder, which this walk (as root, changing owners) must never enter.
  const top = await lstat(treeDir);
  if (!top.isDirectory()) return { ok: false, reason: 'path_unsafe', detail: 'checkout folder replaced' };
  await lchown(treeDir, 0, 0);
  const problem = await visit(treeDir, '');
  if (problem) return problem;
  for (const path of expected.keys()) {
    if (!found.has(path)) return { ok: false, reason: 'path_unsafe', detail: `${JSON.stringify(path)} missing after checkout` };
  }
  return { ok: true, links };
}
