// The job's capped work folder and the removal of a job's tree, run for real: a hostile job fills the disk,
// exhausts the inodes, and leaves a tree built to defeat its removal; a killed worker leaves a mounted folder.
import { spawn } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { allocateSandboxUid } from '../../src/replay/sandbox.ts';
import {
  createJobRoot,
  createWorkFolder,
  mountPointsUnder,
  removeJobTree,
  sweepStaleJobFolders,
  workFolderFree,
} from '../../src/replay/work-folder.ts';
import { describeSandbox } from './sandbox-gate.ts';
import { processesOfUid, runPython } from './hostile.ts';

const MiB = 1024 ** 2;
const exists = (path: string): Promise<boolean> => lstat(path).then(() => true, () => false);

describeSandbox('replay work folder: a capped file system, removed whatever the job left', () => {
  // A private parent for the jobs' roots: the sweep below must never see another test's (or worker's) folders.
  let tmpRoot = '';
  let hostFile = '';
  const hostSecret = `host-file-${Math.random().toString(36).slice(2)}`;

  beforeAll(async () => {
    tmpRoot = await mkdtemp(join(tmpdir(), 'proofboard-wf-test-'));
    await chmod(tmpRoot, 0o711);
    hostFile = join(tmpRoot, 'host-file');
    await writeFile(hostFile, hostSecret, { mode: 0o644 });
  });

  afterAll(async () => {
    for (const name of await readdir(tmpRoot).catch(() => [] as string[])) {
      if (name.startsWith('proofboard-job-')) await removeJobTree(join(tmpRoot, name));
    }
    await rm(tmpRoot, { recursive: true, force: true });
  });

  async function cappedJob(diskBytes: number, maxInodes: number): Promise<{ root: string; workDir: string; uid: number }> {
    const root = await createJobRoot(tmpRoot);
    const uid = allocateSandboxUid();
    const workDir = join(root, 'run-0');
    await createWorkFolder(workDir, { diskBytes, maxInodes, uid });
    return { root, workDir, uid };
  }

  it('ends a job that fills its disk cap with ENOSPC and killReason disk, writing nothing outside', async () => {
    const { root, workDir, uid } = await cappedJob(8 * MiB, 1000);
    const before = (await readdir(tmpRoot)).sort();
    const result = await runPython(
      [
        'import sys',
        'written = 0',
        'try:',
        '    with open("/work/fill", "wb") as f:',
        '        while True:',
        '            f.write(b"x" * 1048576); f.flush(); written += 1',
        'except OSError as e:',
        '    print("stopped", written, e.strerror, flush=True)',
        '    sys.exit(1)',
      ].join('\n'),
      { workDir, uid },
    );
    expect(result.out).toMatch(/^stopped \d+ No space left on device/m);
    expect(Number(/stopped (\d+)/.exec(result.out)![1])).toBeLessThanOrEqual(8);
    expect(result.exitCode).not.toBe(0);
    expect(result.killReason).toBe('disk');
    const free = await workFolderFree(workDir);
    expect(free.totalBytes).toBe(8 * MiB);
    expect(free.bytes).toBe(0);
    expect((await readdir(tmpRoot)).sort()).toEqual(before);
    expect(await readdir(root)).toEqual(['owner.json', 'run-0']);
    await removeJobTree(root);
    expect(await exists(root)).toBe(false);
    expect(await mountPointsUnder(root)).toEqual([]);
  });

  it('stops a job creating files past its inode cap', async () => {
    const { root, workDir, uid } = await cappedJob(8 * MiB, 200);
    const result = await runPython(
      [
        'import errno, sys',
        'n = 0',
        'try:',
        '    while True:',
        '        open("/work/f%d" % n, "w").close(); n += 1',
        'except OSError as e:',
        '    print("stopped", n, errno.errorcode[e.errno], flush=True)',
        '    sys.exit(1)',
      ].join('\n'),
      { workDir, uid },
    );
    expect(result.out).toMatch(/^stopped \d+ ENOSPC/m);
    expect(Number(/stopped (\d+)/.exec(result.out)![1])).toBeLessThan(200);
    expect(result.killReason).toBe('disk');
    expect((await workFolderFree(workDir)).inodes).toBe(0);
    await removeJobTree(root);
    expect(await exists(root)).toBe(false);
  });

  it('does not report disk for a job that succeeds with a full folder', async () => {
    const { root, workDir, uid } = await cappedJob(MiB, 100);
    const result = await runPython(
      'try:\n    open("/work/f", "wb").write(b"x" * 2 * 1048576)\nexcept OSError as e:\n    print("caught", e.strerror)',
      { workDir, uid },
    );
    expect(result.out).toContain('caught No space left on device');
    expect(result.exitCode).toBe(0);
    expect(result.killReason).toBe('none');
    await removeJobTree(root);
  });

  // The job builds the tree it leaves, on a plain folder (the worst case: nothing to unmount) and in a capped one.
  for (const capped of [false, true]) {
    it(`removes a 3000-deep chain, chmod 000 folders and read-only files without following links (${capped ? 'capped' : 'plain'} folder)`, async () => {
      const root = await createJobRoot(tmpRoot);
      const workDir = join(root, 'run-0');
      const uid = allocateSandboxUid();
      if (capped) await createWorkFolder(workDir, { diskBytes: 64 * MiB, maxInodes: 10_000, uid });
      else await mkdir(workDir);
      const result = await runPython(
        [
          'import os',
          `os.symlink(${JSON.stringify(hostFile)}, "/work/link-to-host-file")`,
          `os.symlink(${JSON.stringify(tmpRoot)}, "/work/link-to-host-folder")`,
          'os.makedirs("/work/locked/inner"); open("/work/locked/inner/f", "w").write("x")',
          'open("/work/readonly", "w").write("x"); os.chmod("/work/readonly", 0o444)',
          'os.chmod("/work/locked/inner", 0); os.chmod("/work/locked", 0)',
          'os.chdir("/work")',
          'for i in range(3000):',
          '    os.mkdir("d"); os.chdir("d")',
          'os.symlink("/", "root-link"); open("deepest", "w").write("x"); os.chmod(".", 0o500)',
          'print("depth", i + 1)',
        ].join('\n'),
        { workDir, uid, limits: { cpuSeconds: 60, wallTimeMs: 120_000 } },
      );
      expect(result.err).toBe('');
      expect(result.out).toContain('depth 3000');
      // Node's own recursive removal gives up on a chain this deep; removeJobTree must not.
      const plainRm = await rm(join(workDir, 'd'), { recursive: true, force: true }).then(() => 'removed', (error: NodeJS.ErrnoException) => error.code);
      expect(plainRm).not.toBe('removed');
      await removeJobTree(root);
      expect(await exists(root)).toBe(false);
      expect(await readFile(hostFile, 'utf8')).toBe(hostSecret);
      expect(await exists(tmpRoot)).toBe(true);
      expect(await processesOfUid(result.uid)).toEqual([]);
    }, 240_000);
  }

  it('refuses to mount over a link, a non-empty folder or an existing mount', async () => {
    const { symlink } = await import('node:fs/promises');
    const { root, workDir, uid } = await cappedJob(MiB, 100);
    const limits = { diskBytes: MiB, maxInodes: 100, uid };
    await expect(createWorkFolder(workDir, limits)).rejects.toThrow(/already a mount point/);
    await symlink(tmpRoot, join(root, 'link'));
    await expect(createWorkFolder(join(root, 'link'), limits)).rejects.toThrow(/is a link/);
    await mkdir(join(root, 'full'));
    await writeFile(join(root, 'full', 'f'), '');
    await expect(createWorkFolder(join(root, 'full'), limits)).rejects.toThrow(/not empty/);
    await expect(createWorkFolder(join(root, 'run-1'), { ...limits, diskBytes: 0 })).rejects.toThrow(/diskBytes/);
    expect(await mountPointsUnder(root)).toEqual([workDir]);
    await removeJobTree(root);
    expect(await readFile(hostFile, 'utf8')).toBe(hostSecret);
  });

  it('refuses to remove a link or a relative path', async () => {
    const link = join(tmpRoot, 'proofboard-job-link');
    const { symlink } = await import('node:fs/promises');
    await symlink(tmpRoot, link);
    await expect(removeJobTree(link)).rejects.toThrow(/not a folder \(or is a link\)/);
    await expect(removeJobTree('relative/path')).rejects.toThrow(/refusing/);
    await rm(link);
    expect(await readFile(hostFile, 'utf8')).toBe(hostSecret);
  });

  it('sweeps the mounted folders of a killed worker and leaves a live worker’s alone', async () => {
    // A worker process that makes its job root and a capped work folder with a file in it, then is killed.
    const script = [
      `import { createJobRoot, createWorkFolder } from ${JSON.stringify(resolve('src/replay/work-folder.ts'))};`,
      `import { writeFileSync } from 'node:fs';`,
      `const root = await createJobRoot(${JSON.stringify(tmpRoot)});`,
      `await createWorkFolder(root + '/run-0', { diskBytes: 1048576, maxInodes: 100, uid: 2000001 });`,
      `writeFileSync(root + '/run-0/left', 'x');`,
      `console.log(root);`,
      `process.kill(process.pid, 'SIGKILL');`,
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const signal = await new Promise((done) => child.once('exit', (_code, sig) => done(sig)));
    expect(signal).toBe('SIGKILL');
    const deadRoot = out.trim();
    expect(deadRoot.startsWith(join(tmpRoot, 'proofboard-job-'))).toBe(true);
    expect(await mountPointsUnder(deadRoot)).toEqual([join(deadRoot, 'run-0')]);

    const live = await cappedJob(MiB, 100);
    // Without an owner record: kept while recent, swept once older than the threshold.
    const unowned = join(tmpRoot, 'proofboard-job-unowned');
    await mkdir(unowned);
    const aside = join(tmpRoot, 'not-a-job');
    await mkdir(aside);

    expect(await sweepStaleJobFolders(tmpRoot)).toBe(1);
    expect(await exists(deadRoot)).toBe(false);
    expect(await mountPointsUnder(deadRoot)).toEqual([]);
    expect(await exists(live.workDir)).toBe(true);
    expect(await mountPointsUnder(live.root)).toEqual([live.workDir]);
    expect(await exists(unowned)).toBe(true);

    expect(await sweepStaleJobFolders(tmpRoot, { now: Date.now() + 2 * 24 * 60 * 60_000 })).toBe(1);
    expect(await exists(unowned)).toBe(false);
    expect(await exists(live.workDir)).toBe(true);
    expect(await exists(aside)).toBe(true);
    await removeJobTree(live.root);
    await rm(aside, { recursive: true });
  });
});
