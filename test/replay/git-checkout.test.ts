// Hostile git bundles: each must be refused with its reason code, or checked out byte for byte without
// running anything of the bundle's, and nothing may land outside the destination folder.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { checkoutBundle } from '../../src/replay/git-checkout.ts';
import { HUGE_BLOB_BYTES, writeHugeBlobBundle } from './huge-bundle.ts';
import { bundleTree, bundleWorkTree, git, initRepo, writeBlob, writeRawTree } from './git-fixtures.ts';
import { makeTempDir, removeDir } from './hostile.ts';
import { describeSandbox } from './sandbox-gate.ts';

describeSandbox('replay git checkout: hostile bundles', () => {
  let root = '';
  let count = 0;
  const fresh = async () => {
    count += 1;
    const base = join(root, `case-${count}`);
    await mkdir(base);
    return { repo: initRepo(join(base, 'repo')), dest: join(base, 'dest') };
  };

  beforeAll(async () => {
    root = await makeTempDir('git');
    // The sandbox uid mounts the destination by path, so the folders above it must be searchable.
    await chmod(root, 0o711);
  });
  afterAll(async () => {
    await removeDir(root);
  });

  it('checks out an ordinary commit byte for byte, owned by root', async () => {
    const { repo, dest } = await fresh();
    await mkdir(join(repo, 'src'));
    await writeFile(join(repo, 'src', 'train.py'), 'print("train")\r\n');
    await writeFile(join(repo, 'run.sh'), '#!/bin/sh\necho run\n');
    await chmod(join(repo, 'run.sh'), 0o755);
    await symlink('src/train.py', join(repo, 'entry.py'));
    const { bundle, commit } = bundleWorkTree(repo);
    const result = await checkoutBundle({ bundlePath: bundle, commit, destDir: dest });
    expect(result).toMatchObject({ ok: true, files: 3 });
    if (!result.ok) return;
    expect(await readFile(join(result.treeDir, 'src', 'train.py'), 'utf8')).toBe('print("train")\r\n');
    expect((await lstat(join(result.treeDir, 'run.sh'))).mode & 0o111).not.toBe(0);
    expect(await readlink(join(result.treeDir, 'entry.py'))).toBe('src/train.py');
    expect((await lstat(join(result.treeDir, 'src', 'train.py'))).uid).toBe(0);
    expect(existsSync(join(dest, 'work', 'repo.git'))).toBe(false);
  });

  it('runs no hook, and refuses a tree that carries its own .git folder', async () => {
    const { repo, dest } = await fresh();
    const marker = join(root, `hook-ran-${count}`);
    const hook = writeBlob(repo, `#!/bin/sh\ntouch ${marker}\n`);
    const hooks = writeRawTree(repo, [
      { mode: '100755', name: 'post-checkout', oid: hook },
      { mode: '100755', name: 'post-merge', oid: hook },
    ]);
    const dotGit = writeRawTree(repo, [{ mode: '40000', name: 'hooks', oid: hooks }]);
    const withDotGit = writeRawTree(repo, [{ mode: '40000', name: '.git', oid: dotGit }]);
    const refused = bundleTree(repo, withDotGit, 'dotgit.bundle');
    const result = await checkoutBundle({ bundlePath: refused.bundle, commit: refused.commit, destDir: dest });
    expect(result).toMatchObject({ ok: false, reason: 'path_unsafe' });
    expect(existsSync(dest)).toBe(false);

    // Hooks as ordinary files (.githooks/, hooks/) are data: written, never run.
    const ordinary = writeRawTree(repo, [
      { mode: '40000', name: '.githooks', oid: hooks },
      { mode: '40000', name: 'hooks', oid: hooks },
    ]);
    const kept = bundleTree(repo, ordinary, 'hooks.bundle');
    const ok = await checkoutBundle({ bundlePath: kept.bundle, commit: kept.commit, destDir: `${dest}-2` });
    expect(ok).toMatchObject({ ok: true, files: 4 });
    expect(existsSync(marker)).toBe(false);
  });

  it('applies no filter, eol or ident conversion from .gitattributes (a host git would)', async () => {
    const { repo, dest } = await fresh();
    const marker = join(root, `filter-ran-${count}`);
    await writeFile(join(repo, '.gitattributes'), '* filter=evil text eol=crlf ident\n');
    await writeFile(join(repo, 'train.py'), 'line one\nline two $Id$\n');
    const { bundle, commit } = bundleWorkTree(repo);

    // Control: a host git that knows a filter driver called "evil" runs it during an ordinary clone.
    const control = join(root, `control-${count}`);
    execFileSync('git', ['-c', `filter.evil.smudge=sh -c 'touch ${marker}; cat'`, 'clone', '--quiet', bundle, control], {
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
    });
    expect(existsSync(marker)).toBe(true);
    expect(await readFile(join(control, 'train.py'), 'utf8')).toContain('\r\n');
    await removeDir(marker);

    const result = await checkoutBundle({ bundlePath: bundle, commit, destDir: dest });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(existsSync(marker)).toBe(false);
    expect(await readFile(join(result.treeDir, 'train.py'), 'utf8')).toBe('line one\nline two $Id$\n');
  });

  it('refuses a symlink to /etc/shadow', async () => {
    const { repo, dest } = await fresh();
    await symlink('/etc/shadow', join(repo, 'data.csv'));
    const { bundle, commit } = bundleWorkTree(repo);
    const result = await checkoutBundle({ bundlePath: bundle, commit, destDir: dest });
    expect(result).toMatchObject({ ok: false, reason: 'symlink_escapes' });
    expect(existsSync(dest)).toBe(false);
  });

  it('refuses relative symlinks that leave the tree, directly or through another link', async () => {
    const { repo, dest } = await fresh();
    await mkdir(join(repo, 'sub'));
    await symlink('../../../etc/passwd', join(repo, 'sub', 'up'));
    const direct = bundleWorkTree(repo, 'direct.bundle');
    expect(await checkoutBundle({ bundlePath: direct.bundle, commit: direct.commit, destDir: dest })).toMatchObject({
      ok: false,
      reason: 'symlink_escapes',
    });

    const { repo: repo2, dest: dest2 } = await fresh();
    await symlink('.', join(repo2, 'here'));
    await symlink('here/..', join(repo2, 'parent'));
    const chained = bundleWorkTree(repo2, 'chained.bundle');
    expect(await checkoutBundle({ bundlePath: chained.bundle, commit: chained.commit, destDir: dest2 })).toMatchObject({
      ok: false,
      reason: 'symlink_escapes',
    });
  });

  it('refuses a symlinked folder with files under it (write-through-symlink)', async () => {
    const { repo, dest } = await fresh();
    const payload = writeBlob(repo, 'owned\n');
    const link = writeBlob(repo, '/tmp');
    const inner = writeRawTree(repo, [{ mode: '100644', name: 'owned.txt', oid: payload }]);
    const tree = writeRawTree(repo, [
      { mode: '120000', name: 'out', oid: link },
      { mode: '40000', name: 'out', oid: inner },
    ]);
    const { bundle, commit } = bundleTree(repo, tree);
    const result = await checkoutBundle({ bundlePath: bundle, commit, destDir: dest });
    expect(result).toMatchObject({ ok: false, reason: 'path_unsafe' });
    expect(existsSync('/tmp/owned.txt')).toBe(false);
  });

  it('refuses path traversal entries', async () => {
    const { repo, dest } = await fresh();
    const payload = writeBlob(repo, 'escaped\n');
    const inner = writeRawTree(repo, [{ mode: '100644', name: `escaped-${count}.txt`, oid: payload }]);
    const upper = writeRawTree(repo, [{ mode: '40000', name: '..', oid: inner }]);
    const tree = writeRawTree(repo, [{ mode: '40000', name: '..', oid: upper }]);
    const { bundle, commit } = bundleTree(repo, tree);
    const result = await checkoutBundle({ bundlePath: bundle, commit, destDir: dest });
    expect(result).toMatchObject({ ok: false, reason: 'path_unsafe' });
    expect(existsSync(join(root, `escaped-${count}.txt`))).toBe(false);
    expect(existsSync(join(dest, '..', '..', `escaped-${count}.txt`))).toBe(false);
  });

  it('refuses an object above the size cap without writing it out', async () => {
    const { repo, dest } = await fresh();
    // 64 MiB of zeros compress to ~64 KiB; the cap is lowered to 1 MiB to keep the test fast. The size
    // comes from the object header, so a 2 GB object is refused the same way.
    execFileSync('sh', ['-c', 'head -c 67108864 /dev/zero > weights.bin'], { cwd: repo });
    const { bundle, commit } = bundleWorkTree(repo);
    const result = await checkoutBundle({
      bundlePath: bundle,
      commit,
      destDir: dest,
      limits: { maxObjectBytes: 1024 ** 2 },
    });
    expect(result).toMatchObject({ ok: false, reason: 'object_too_large' });
    expect(existsSync(dest)).toBe(false);
  });

  it('refuses a real 2 GiB object (a 2 MB bundle) at the default limits without writing it out', async () => {
    const { dest } = await fresh();
    const bundle = join(root, `huge-${count}.bundle`);
    const commit = await writeHugeBlobBundle(bundle);
    expect((await lstat(bundle)).size).toBeLessThan(4 * 1024 ** 2);
    const result = await checkoutBundle({ bundlePath: bundle, commit, destDir: dest });
    expect(result).toMatchObject({ ok: false, reason: 'object_too_large' });
    if (!result.ok) expect(result.detail).toContain(String(HUGE_BLOB_BYTES));
    expect(existsSync(dest)).toBe(false);
  });

  it('refuses submodules, oversized bundles, garbage, incomplete bundles and unknown or short commits', async () => {
    const { repo, dest } = await fresh();
    const file = writeBlob(repo, 'x\n');
    const base = writeRawTree(repo, [{ mode: '100644', name: 'a.txt', oid: file }]);
    const submodule = writeRawTree(repo, [{ mode: '160000', name: 'vendor', oid: 'a'.repeat(40) }]);
    const sub = bundleTree(repo, submodule, 'sub.bundle');
    expect(await checkoutBundle({ bundlePath: sub.bundle, commit: sub.commit, destDir: dest })).toMatchObject({
      ok: false,
      reason: 'submodule',
    });

    const good = bundleTree(repo, base, 'good.bundle');
    expect(
      await checkoutBundle({ bundlePath: good.bundle, commit: good.commit, destDir: dest, limits: { maxBundleBytes: 10 } }),
    ).toMatchObject({ ok: false, reason: 'bundle_too_large' });
    expect(await checkoutBundle({ bundlePath: good.bundle, commit: good.commit.slice(0, 12), destDir: dest })).toMatchObject({
      ok: false,
      reason: 'commit_invalid',
    });
    expect(await checkoutBundle({ bundlePath: good.bundle, commit: 'b'.repeat(40), destDir: dest })).toMatchObject({
      ok: false,
      reason: 'commit_missing',
    });

    const garbage = join(repo, '..', 'garbage.bundle');
    await writeFile(garbage, '# v2 git bundle\nnot a pack at all\n');
    expect(await checkoutBundle({ bundlePath: garbage, commit: good.commit, destDir: dest })).toMatchObject({
      ok: false,
      reason: 'bundle_invalid',
    });

    const child = git(repo, ['commit-tree', '-p', good.commit, '-m', 'child', base]);
    git(repo, ['update-ref', 'refs/heads/main', child]);
    const thin = join(repo, '..', 'thin.bundle');
    git(repo, ['bundle', 'create', '--quiet', thin, `${good.commit}..refs/heads/main`]);
    expect(await checkoutBundle({ bundlePath: thin, commit: child, destDir: dest })).toMatchObject({
      ok: false,
      reason: 'bundle_invalid',
    });
    expect(existsSync(dest)).toBe(false);
  });
});
