// A PostgreSQL cluster of a test's own, in a temporary folder on a free loopback port, that the test may stop and
// restart at will (the shared server on 5432 is never touched). Debian's server binaries live under
// /usr/lib/postgresql/<major>/bin; the server refuses to run as root, so every command runs as the `postgres` user
// (runuser), in a folder that user owns.
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const PG_ROOT = '/usr/lib/postgresql';
const RUN_AS = 'postgres';

/** The bin folder of the newest installed PostgreSQL major, or why none can be used here. */
export function findPostgresBin(): { bin: string } | { missing: string } {
  if (!existsSync(PG_ROOT)) return { missing: `${PG_ROOT} does not exist (install postgresql)` };
  const majors = readdirSync(PG_ROOT)
    .filter((d) => existsSync(join(PG_ROOT, d, 'bin', 'initdb')) && existsSync(join(PG_ROOT, d, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  if (majors.length === 0) return { missing: `no initdb and pg_ctl under ${PG_ROOT}/*/bin` };
  if (process.getuid?.() !== 0) return { missing: `the tests run as uid ${process.getuid?.()}, not root: they cannot run the server as ${RUN_AS}` };
  if (!existsSync('/usr/sbin/runuser') && !existsSync('/sbin/runuser')) return { missing: 'runuser is not installed' };
  return { bin: join(PG_ROOT, majors[0]!, 'bin') };
}

export type PgCluster = {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  /** `pg_ctl restart -m fast`: backends are told 57P01 admin_shutdown and closed, then the server comes back. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** The server's own log (startup, shutdown, terminated backends). */
  log(): string;
  /** Stops the server (immediate mode) and removes the folder. */
  remove(): Promise<void>;
};

export async function startPgCluster(bin: string): Promise<PgCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'proofboard-pgcluster-'));
  const pw = await uidGid(RUN_AS);
  chownSync(dir, pw.uid, pw.gid);
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const port = await freePort();
  const run = async (tool: string, args: string[]) => {
    try {
      await execFileAsync('runuser', ['-u', RUN_AS, '--', join(bin, tool), ...args], { cwd: dir, timeout: 120_000 });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`${tool} ${args.join(' ')} failed: ${err.stderr || err.message}\n${readLog()}`);
    }
  };
  const readLog = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  await run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  // Loopback only, the socket in the test's own folder. fsync off: a fast or smart shutdown still writes every
  // committed transaction out, and nothing here survives a machine crash anyway.
  const opts = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c max_connections=60`;
  const pgCtl = (...args: string[]) => run('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '60', ...args]);
  await pgCtl('-o', opts, 'start');
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    restart: () => pgCtl('-m', 'fast', 'restart'),
    stop: () => pgCtl('-m', 'fast', 'stop'),
    start: () => pgCtl('-o', opts, 'start'),
    log: readLog,
    remove: async () => {
      await pgCtl('-m', 'immediate', 'stop').catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function uidGid(user: string): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([execFileAsync('id', ['-u', user]), execFileAsync('id', ['-g', user])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}
