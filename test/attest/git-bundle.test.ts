// The pure git bundle reader against bundles made by real git (SHA-1 and SHA-256, deltified commits, prerequisites),
// the synthetic bundles of test/helpers/git-objects.ts checked by git itself, and hostile bytes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAncestor, readGitBundle, type GitBundleResult } from '../../src/attest/git-bundle.ts';
import { gitObject, packEntry, syntheticChain, syntheticCommit, writeBundle, writePack } from '../helpers/git-objects.ts';

const GIT_ENV = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_TERMINAL_PROMPT: '0' };
const ID = ['-c', 'user.name=Test', '-c', 'user.email=test@example.invalid', '-c', 'commit.gpgsign=false'];

function git(cwd: string, args: string[], input?: string | Buffer): string {
  return execFileSync('git', [...ID, ...args], { cwd, env: GIT_ENV, input, maxBuffer: 256 * 1024 ** 2 }).toString('utf8').trim();
}

/** `git rev-list --parents --all` as the reader's map. */
function gitParents(repo: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of git(repo, ['rev-list', '--parents', '--all']).split('\n')) {
    const [c, ...parents] = line.split(' ');
    out.set(c!, parents);
  }
  return out;
}

function ok(r: GitBundleResult) {
  if (!r.ok) throw new Error(`${r.reason}: ${r.message}`);
  return r;
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pb-git-bundle-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function repoWithHistory(name: string, format: 'sha1' | 'sha256'): string {
  const repo = join(dir, name);
  git(dir, ['init', '--quiet', `--object-format=${format}`, '-b', 'main', repo]);
  for (let i = 0; i < 4; i++) git(repo, ['commit', '--quiet', '--allow-empty', '-m', `c${i}`]);
  // A side branch and a merge, so a commit has two parents.
  git(repo, ['checkout', '--quiet', '-b', 'side', 'HEAD~2']);
  git(repo, ['commit', '--quiet', '--allow-empty', '-m', 'side']);
  git(repo, ['checkout', '--quiet', 'main']);
  git(repo, ['merge', '--quiet', '--no-ff', '-m', 'merge', 'side']);
  return repo;
}

describe('readGitBundle on bundles made by git', () => {
  it.each(['sha1', 'sha256'] as const)('reads every commit and its parents of a %s bundle, as git lists them', (format) => {
    const repo = repoWithHistory(`hist-${format}`, format);
    const path = join(dir, `${format}.bundle`);
    git(repo, ['bundle', 'create', '--quiet', path, '--all']);
    const r = ok(readGitBundle(readFileSync(path)));
    expect(r.objectFormat).toBe(format);
    expect(r.version).toBe(format === 'sha1' ? 2 : 3);
    expect(r.prerequisites).toEqual([]);
    expect(r.commits).toEqual(gitParents(repo));
    expect(r.tips.get('refs/heads/main')).toBe(git(repo, ['rev-parse', 'main']));
    const head = git(repo, ['rev-parse', 'main']);
    const root = git(repo, ['rev-list', '--max-parents=0', 'main']);
    expect(isAncestor(r.commits, head, root)).toBe(true);
    expect(isAncestor(r.commits, root, head)).toBe(false);
    expect(isAncestor(r.commits, head, head)).toBe(false);
    expect(isAncestor(r.commits, head, git(repo, ['rev-parse', 'side']))).toBe(true);
  });

  it('resolves commits stored as deltas (OFS_DELTA chains), as git verify-pack shows them', () => {
    const repo = join(dir, 'deltas');
    git(dir, ['init', '--quiet', '-b', 'main', repo]);
    const long = 'a long and nearly identical commit message line that makes deltas worth it\n'.repeat(40);
    for (let i = 0; i < 60; i++) git(repo, ['commit', '--quiet', '--allow-empty', '-F', '-'], `${long}\nnumber ${i}\n`);
    const path = join(dir, 'deltas.bundle');
    git(repo, ['-c', 'pack.window=50', '-c', 'pack.depth=50', 'bundle', 'create', '--quiet', path, 'main']);
    // The bundle's pack, indexed and listed by git: some commit must really be a delta.
    const bytes = readFileSync(path);
    const packPath = join(dir, 'deltas.pack');
    execFileSync('sh', ['-c', `sed '1,/^$/d' ${path} > ${packPath}`]);
    git(repo, ['index-pack', packPath]);
    const listing = git(repo, ['verify-pack', '-v', packPath.replace(/\.pack$/, '.idx')]);
    const deltaCommits = listing.split('\n').filter((l) => / commit /.test(l) && l.trim().split(/\s+/).length >= 7);
    expect(deltaCommits.length).toBeGreaterThan(10);
    const r = ok(readGitBundle(bytes));
    expect(r.commits).toEqual(gitParents(repo));
    // A depth cap below the chain's depth is a refusal, not a throw. Cap 0: the commits above are deltas, whatever
    // depth git's (multi-threaded, so run-to-run different) delta search gave their chains; a cap of 1 failed once
    // when every chain happened to be one link long.
    const capped = readGitBundle(bytes, { maxDeltaDepth: 0 });
    expect(capped).toMatchObject({ ok: false, reason: 'too_large' });
  });

  it('lists the prerequisites of an incremental bundle, and holds only the new commits', () => {
    const repo = repoWithHistory('incremental', 'sha1');
    const path = join(dir, 'incremental.bundle');
    git(repo, ['bundle', 'create', '--quiet', path, 'main~1..main']);
    const r = ok(readGitBundle(readFileSync(path)));
    expect(r.prerequisites.length).toBeGreaterThan(0);
    expect(r.commits.has(git(repo, ['rev-parse', 'main']))).toBe(true);
    expect(r.commits.has(git(repo, ['rev-parse', 'main~1']))).toBe(false);
  });
});

describe('synthetic commits (test/helpers/git-objects.ts)', () => {
  it('are accepted by git bundle verify and git fsck, and read back with their lineage', () => {
    const [a, b] = syntheticChain('syn', 2);
    const c = syntheticCommit('merge', [a!, b!]);
    const repo = join(dir, 'synthetic');
    git(dir, ['init', '--quiet', repo]);
    const path = join(dir, 'synthetic.bundle');
    execFileSync('sh', ['-c', `cat > ${path}`], { input: c.bundle });
    git(repo, ['bundle', 'verify', path]);
    git(repo, ['fetch', '--quiet', path, 'refs/heads/main:refs/heads/main']);
    git(repo, ['fsck', '--strict', '--no-dangling']);
    expect(git(repo, ['rev-parse', 'main'])).toBe(c.commit);
    expect(gitParents(repo).get(c.commit)).toEqual([a!.commit, b!.commit]);
    const r = ok(readGitBundle(c.bundle));
    expect(r.commits).toEqual(gitParents(repo));
    expect(syntheticCommit('merge', [a!, b!]).bundleRef).toBe(c.bundleRef);
  });
});

describe('readGitBundle on hostile bytes', () => {
  const good = syntheticChain('fuzz', 3)[2]!.bundle;

  it('refuses random bytes, never throws', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        expect(readGitBundle(bytes).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses random bytes after a valid signature, never throws', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        expect(readGitBundle(Buffer.concat([Buffer.from('# v2 git bundle\n'), bytes])).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses every truncation of a valid bundle, never throws', () => {
    for (let n = 0; n < good.length; n++) expect(readGitBundle(good.subarray(0, n)).ok, `truncated at ${n}`).toBe(false);
  });

  it('never throws on a bundle with bytes flipped, and refuses any change to the pack', () => {
    const packStart = Buffer.from(good).indexOf('PACK');
    fc.assert(
      fc.property(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 }), (at, x) => {
        const bad = Buffer.from(good);
        bad[at]! ^= x;
        const r = readGitBundle(bad);
        if (at >= packStart) expect(r.ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses an unknown version, an unknown capability and a malformed header', () => {
    const pack = writePack([]);
    const cases: [string, string][] = [
      ['# v4 git bundle\n\n', 'unsupported'],
      ['# v3 git bundle\n@filter=blob:none\n\n', 'unsupported'],
      ['# v2 git bundle\nnot-an-oid refs/heads/main\n\n', 'not_a_bundle'],
      ['# v2 git bundle\n' + 'a'.repeat(40) + '\n\n', 'not_a_bundle'],
      ['PACK', 'not_a_bundle'],
    ];
    for (const [header, reason] of cases) expect(readGitBundle(Buffer.concat([Buffer.from(header), pack])), header).toMatchObject({ ok: false, reason });
    expect(readGitBundle(Buffer.from('# v2 git bundle\n' + `-${'a'.repeat(40)}\n`.repeat(20) + '\n'), { maxHeaderLines: 10 })).toMatchObject({ ok: false, reason: 'too_large' });
  });

  it('refuses a zlib bomb by its declared size, its inflated size, or the total inflated budget', () => {
    const zeros = Buffer.alloc(8 * 1024 ** 2);
    const deflated = deflateSync(zeros);
    const bundleOf = (entries: Buffer[]) => Buffer.concat([Buffer.from('# v2 git bundle\n\n'), writePack([], entries)]);
    // Declares more than one object may hold: refused before inflating.
    expect(readGitBundle(bundleOf([packEntry(3, 2 ** 40, deflated)]))).toMatchObject({ ok: false, reason: 'too_large' });
    // Declares 10 bytes and inflates to 8 MiB: inflating stops at the declared size.
    expect(readGitBundle(bundleOf([packEntry(3, 10, deflated)]))).toMatchObject({ ok: false, reason: 'bad_object' });
    // Honest sizes, but more in all than the budget.
    const many = bundleOf(Array.from({ length: 4 }, () => packEntry(3, zeros.length, deflated)));
    expect(readGitBundle(many, { maxInflatedBytes: 20 * 1024 ** 2 })).toMatchObject({ ok: false, reason: 'too_large' });
    expect(readGitBundle(many)).toMatchObject({ ok: true, commits: new Map() });
    // More objects declared than allowed.
    expect(readGitBundle(many, { maxObjects: 3 })).toMatchObject({ ok: false, reason: 'too_large' });
  });

  it('refuses a pack with a bad checksum, stray bytes, or an object whose delta base is not an object', () => {
    const blob = gitObject('blob', 'x');
    const entries = [packEntry(3, 1, deflateSync(blob.body))];
    const pack = writePack([], entries);
    const header = Buffer.from('# v2 git bundle\n\n');
    const flipped = Buffer.from(pack);
    flipped[flipped.length - 1]! ^= 1;
    expect(readGitBundle(Buffer.concat([header, flipped]))).toMatchObject({ ok: false, reason: 'bad_pack' });
    const stray = writePack([], [Buffer.concat([entries[0]!, Buffer.from('junk')])]);
    expect(readGitBundle(Buffer.concat([header, stray]))).toMatchObject({ ok: false, reason: 'bad_pack' });
    // OFS_DELTA pointing one byte back (into the middle of the previous object).
    const ofs = packEntry(6, 3, Buffer.concat([Buffer.from([0x01]), deflateSync(Buffer.from([1, 1, 0x01]))]));
    expect(readGitBundle(Buffer.concat([header, writePack([], [entries[0]!, ofs])]))).toMatchObject({ ok: false, reason: 'bad_pack' });
  });

  it('refuses a commit object that does not start with a tree line', () => {
    const bad = gitObject('commit', 'author x\n\nmsg\n');
    expect(readGitBundle(writeBundle({ refs: [[bad.oid, 'refs/heads/main']], objects: [bad] }))).toMatchObject({ ok: false, reason: 'bad_object' });
  });
});

describe('isAncestor', () => {
  it('walks a long chain iteratively and stops at maxSteps', () => {
    const commits = new Map<string, string[]>();
    const n = 200_000;
    for (let i = 0; i < n; i++) commits.set(`c${i}`, i === 0 ? [] : [`c${i - 1}`]);
    expect(isAncestor(commits, `c${n - 1}`, 'c0')).toBe(true);
    expect(isAncestor(commits, `c${n - 1}`, 'c0', 10)).toBe(false);
    expect(isAncestor(commits, 'c0', `c${n - 1}`)).toBe(false);
  });
});
