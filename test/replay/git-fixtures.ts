// Builds hostile git bundles with the host's git (trusted test set-up). Trees are written object by object
// with `hash-object --literally`, so they can hold what a normal `git add` would refuse: "..", ".git",
// duplicate names.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const GIT_ENV = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_TERMINAL_PROMPT: '0' };
const AUTHOR = ['-c', 'user.name=Mallory', '-c', 'user.email=mallory@example.invalid'];

export function git(repo: string, args: string[], input?: Buffer | string): string {
  return execFileSync('git', [...AUTHOR, ...args], {
    cwd: repo,
    env: GIT_ENV,
    input,
    maxBuffer: 64 * 1024 ** 2,
  }).toString('utf8').trim();
}

export function initRepo(dir: string): string {
  execFileSync('git', ['init', '--quiet', dir], { env: GIT_ENV });
  return dir;
}

export function writeBlob(repo: string, content: Buffer | string): string {
  return git(repo, ['hash-object', '-w', '--stdin'], content);
}

export interface RawTreeEntry {
  mode: '100644' | '100755' | '120000' | '40000' | '160000';
  name: string;
  oid: string;
}

/** A tree object exactly as given: no sorting, no name checks. */
export function writeRawTree(repo: string, entries: RawTreeEntry[]): string {
  const parts = entries.map((entry) =>
    Buffer.concat([Buffer.from(`${entry.mode} ${entry.name}\0`), Buffer.from(entry.oid, 'hex')]),
  );
  return git(repo, ['hash-object', '-t', 'tree', '--literally', '-w', '--stdin'], Buffer.concat(parts));
}

/** Commits `tree` on refs/heads/main and writes a bundle of it; returns the bundle path and commit. */
export function bundleTree(repo: string, tree: string, name = 'commit.bundle'): { bundle: string; commit: string } {
  const commit = git(repo, ['commit-tree', '-m', 'hostile', tree]);
  git(repo, ['update-ref', 'refs/heads/main', commit]);
  const bundle = join(repo, '..', name);
  git(repo, ['bundle', 'create', '--quiet', bundle, 'refs/heads/main']);
  return { bundle, commit };
}

/** Commits the files of the repo's work tree and bundles them. */
export function bundleWorkTree(repo: string, name = 'commit.bundle'): { bundle: string; commit: string } {
  git(repo, ['add', '-A']);
  git(repo, ['commit', '--quiet', '--no-verify', '-m', 'work tree']);
  const commit = git(repo, ['rev-parse', 'HEAD']);
  const bundle = join(repo, '..', name);
  git(repo, ['bundle', 'create', '--quiet', bundle, 'HEAD']);
  return { bundle, commit };
}
