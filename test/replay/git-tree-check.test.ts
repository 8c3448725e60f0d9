import fc from 'fast-check';
import { expect, it } from 'vitest';
import { checkSymlinks, checkTreeListing, findPathProblem } from '../../src/replay/git-tree-check.ts';

const LIMITS = { maxEntries: 100, maxObjectBytes: 1000, maxTotalBytes: 5000 };
const OID = 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391';
const record = (mode: string, type: string, size: string | number, path: string) =>
  Buffer.from(`${mode} ${type} ${OID} ${String(size).padStart(7)}\t${path}\0`);
const listing = (...records: Buffer[]) => Buffer.concat(records);

it('accepts an ordinary listing', () => {
  const result = checkTreeListing(
    listing(record('100644', 'blob', 10, 'src/a.py'), record('100755', 'blob', 5, 'run.sh'), record('120000', 'blob', 8, 'link')),
    LIMITS,
  );
  expect(result).toEqual({
    ok: true,
    totalBytes: 23,
    entries: [
      { path: 'src/a.py', kind: 'file', size: 10 },
      { path: 'run.sh', kind: 'executable', size: 5 },
      { path: 'link', kind: 'symlink', size: 8 },
    ],
  });
});

it.each([
  ['../x', 'path_unsafe'],
  ['a/../../x', 'path_unsafe'],
  ['/etc/passwd', 'path_unsafe'],
  ['.git/hooks/post-checkout', 'path_unsafe'],
  ['sub/.GIT/config', 'path_unsafe'],
  ['a//b', 'path_unsafe'],
  ['line\nbreak', 'path_unsafe'],
])('refuses the path %j', (path, reason) => {
  expect(checkTreeListing(record('100644', 'blob', 1, path), LIMITS)).toMatchObject({ ok: false, reason });
});

it('refuses sizes, counts, modes, submodules, duplicates and file-folder clashes', () => {
  expect(checkTreeListing(record('100644', 'blob', 1001, 'big'), LIMITS)).toMatchObject({ reason: 'object_too_large' });
  expect(checkTreeListing(listing(...Array.from({ length: 6 }, (_, i) => record('100644', 'blob', 900, `f${i}`))), LIMITS)).toMatchObject({
    reason: 'tree_too_large',
  });
  expect(checkTreeListing(listing(...Array.from({ length: 101 }, (_, i) => record('100644', 'blob', 0, `f${i}`))), LIMITS)).toMatchObject({
    reason: 'tree_too_large',
  });
  expect(checkTreeListing(record('160000', 'commit', '-', 'vendor'), LIMITS)).toMatchObject({ reason: 'submodule' });
  expect(checkTreeListing(record('100664', 'blob', 1, 'odd'), LIMITS)).toMatchObject({ reason: 'unsupported_mode' });
  expect(checkTreeListing(listing(record('100644', 'blob', 1, 'a'), record('100644', 'blob', 1, 'a')), LIMITS)).toMatchObject({
    reason: 'path_unsafe',
  });
  expect(checkTreeListing(listing(record('120000', 'blob', 4, 'out'), record('100644', 'blob', 1, 'out/x')), LIMITS)).toMatchObject({
    reason: 'path_unsafe',
  });
  expect(checkTreeListing(Buffer.concat([Buffer.from(`100644 blob ${OID}       1\t`), Buffer.from([0xff, 0xfe, 0])]), LIMITS)).toMatchObject({
    reason: 'path_unsafe',
  });
});

it('resolves symlinks through each other', () => {
  expect(checkSymlinks(new Map([['a', 'src/b'], ['src/c', '../a']]))).toEqual({ ok: true });
  expect(checkSymlinks(new Map([['x', '/etc/shadow']]))).toMatchObject({ ok: false, reason: 'symlink_escapes' });
  expect(checkSymlinks(new Map([['sub/x', '../../y']]))).toMatchObject({ ok: false });
  expect(checkSymlinks(new Map([['here', '.'], ['parent', 'here/..']]))).toMatchObject({ ok: false });
  expect(checkSymlinks(new Map([['d', 'sub'], ['sub/up', '..'], ['z', 'd/up/d/up/..']]))).toMatchObject({ ok: false });
  expect(checkSymlinks(new Map([['loop1', 'loop2'], ['loop2', 'loop1']]))).toMatchObject({ ok: false });
});

it('never lets a path with a ".." or "." component or a leading slash through (property)', () => {
  const name = fc.constantFrom('a', 'b', '..', '.', '', '.git', 'x.py');
  fc.assert(
    fc.property(fc.array(name, { minLength: 1, maxLength: 6 }), fc.boolean(), (names, absolute) => {
      const path = (absolute ? '/' : '') + names.join('/');
      const bad = absolute || names.some((n) => n === '..' || n === '.' || n === '' || n === '.git');
      expect(findPathProblem(path) !== undefined).toBe(bad);
    }),
  );
});
