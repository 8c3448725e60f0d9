// Real processes for end-to-end tests: the server as `proofboard serve`, and CLI commands.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'proofboard.mjs');
const execFileAsync = promisify(execFile);

export type ServerProcess = { url: string; child: ChildProcess; output: () => string; stop: (signal?: NodeJS.Signals) => Promise<number | null> };

export async function startServer(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, [BIN, 'serve'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', PROOFBOARD_WORKER: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = await new Promise<string>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 90_000);
    const check = () => {
      const m = /serving (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolvePromise(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    url,
    child,
    output: () => out,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export async function cli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, ...opts.env },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

/** A git repository with `n` commits of a file; returns the folder and the commit hashes, oldest first. */
export async function makeGitRepo(files: Record<string, string>[] = [{ 'train.py': 'print(1)\n' }]) {
  const dir = mkdtempSync(join(tmpdir(), 'proofboard-repo-'));
  const git = (...args: string[]) =>
    execFileAsync('git', ['-C', dir, '-c', 'user.email=t@example.org', '-c', 'user.name=t', ...args]);
  await git('init', '-q');
  const commits: string[] = [];
  for (const [i, set] of files.entries()) {
    for (const [name, text] of Object.entries(set)) writeFileSync(join(dir, name), text);
    await git('add', '-A');
    await git('commit', '-qm', `commit ${i}`);
    commits.push((await git('rev-parse', 'HEAD')).stdout.trim());
  }
  return { dir, commits };
}

export type Cleanup = () => Promise<void> | void;

/**
 * The environment of a real server on one kind of database: a fresh data folder, and on PostgreSQL a fresh
 * database. What it creates is removed by the cleanups it pushes.
 */
export async function serverEnv(kind: 'pglite' | 'postgres', cleanups: Cleanup[], prefix = 'proofboard-e2e-'): Promise<Record<string, string>> {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const env: Record<string, string> = { PROOFBOARD_DATA: dataDir };
  if (kind === 'postgres') {
    const { createPostgresDatabase } = await import('./databases.ts');
    const pg = await createPostgresDatabase();
    env.DATABASE_URL = pg.url;
    cleanups.push(pg.drop);
  }
  return env;
}
