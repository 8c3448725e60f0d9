// Load benchmark of the real server on PostgreSQL, in one run:
//   1. zk claims: distinct signed claims, each with a valid Groth16 proof (one shard: the whole eval set) of its own
//      statement (its own commit, with that commit's real git bundle), verified at intake. Every timed claim must end
//      verified: a statement is never reused, so the run measures verifications, not zk_statement_reused refusals.
//      The proofs are bench/recheck-fixtures.ts's (cached under tmp/, shared with bench:recheck); missing ones are
//      proven first (seconds to tens of seconds each on a loaded 2-core machine), said so on stderr.
//      BENCH_ZK_WARM_UP untimed claims go first (JIT warm-up: the steady state is what is measured), then
//      BENCH_ZK_CLAIMS timed ones; each run reports the CPU the server and PostgreSQL spent per request (from /proc).
//   2. plain claims (no evidence, with a proof-of-work stamp): intake cost without any proof to check;
//   3. leaderboard reads (GET /v1/tasks/digits-mlp/leaderboard) and the leaderboard page (GET /tasks/digits-mlp);
//   4. a bare Hono route on the same server (/bench/bare, served only with PROOFBOARD_BENCH_ROUTES=1): the baseline.
// Proofs are made before the timed part and cached (proving costs seconds per claim).
// Ends with one line of JSON. Numbers depend on the machine and on its other load: compare within one run.
//
//   npm run bench:load                      (BENCH_DATABASE_URL or TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres)
//   BENCH_ZK_CLAIMS=64 BENCH_DURATION_S=10 BENCH_CONNECTIONS=16 npm run bench:load
//   npm run bench:load -- --prepare-only    (only make and cache the proofs: BENCH_ZK_WARM_UP + BENCH_ZK_CLAIMS)
//   BENCH_PROFILE=tmp/prof npm run bench:load   (the server's CPU profile, written when it exits)
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import postgres from 'postgres';
import { claimIdOf, signClaim, type ClaimPayload } from '../src/attest/claim.ts';
import { toHex } from '../src/attest/bytes.ts';
import { ed25519PublicKey } from '../src/attest/ed25519.ts';
import { signIntake } from '../src/attest/intake.ts';
import { mineStamp } from '../src/attest/stamp.ts';
import { evidenceDigest } from '../src/verdict/evidence-digest.ts';
import { syntheticCommit, type SyntheticCommit } from '../test/helpers/git-objects.ts';
import { BENCH_SUBMITTER_SECRET, benchCommit, cachedEntries, CACHE_DIR, makeEntries, type BenchEntry } from './recheck-fixtures.ts';

const ROOT = resolve(import.meta.dirname, '..');
const env = process.env;
// Each zk claim its own statement, so every one of them can be verified: as many proofs as claims.
const ZK_CLAIMS = Number(env.BENCH_ZK_CLAIMS ?? 96);
// Untimed zk claims first: the first pooled checks and requests pay JIT compilation, which is not the steady state.
const ZK_WARM_UP = Number(env.BENCH_ZK_WARM_UP ?? 16);
const PLAIN_CLAIMS = Number(env.BENCH_PLAIN_CLAIMS ?? 1500);
const DURATION_S = Number(env.BENCH_DURATION_S ?? 8);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 16);
const DB_URL = env.BENCH_DATABASE_URL ?? env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const OPERATOR_TOKEN = randomBytes(16).toString('hex');

const log = (line: string) => process.stderr.write(`${line}\n`);

/** The proofs of entries [0, n): distinct commits, so distinct statements; missing ones are proven (slow, once). */
async function zkFixtures(n: number): Promise<BenchEntry[]> {
  if (cachedEntries(n).length < n) {
    log(`proving ${n - cachedEntries(n).length} zk claims into ${CACHE_DIR} first (once; seconds each)`);
    await makeEntries(n, log);
  }
  const out = cachedEntries(n);
  if (out.length !== n) throw new Error(`only ${out.length} of ${n} zk proofs in ${CACHE_DIR}`);
  return out;
}

const SUBMITTER = toHex(ed25519PublicKey(BENCH_SUBMITTER_SECRET));

/** Entry i's claim, signed with its intake for this log (`origin`); its bundle is uploaded before the timed part. */
function zkBody(f: BenchEntry, i: number, origin: string): string {
  const payload: ClaimPayload = {
    v: 1,
    task: 'digits-mlp',
    commit: f.commit,
    parent: null,
    beatsParent: false,
    metric: f.metric,
    submitter: SUBMITTER,
    createdAt: new Date(Date.UTC(2026, 10, 27, 8, 0, i)).toISOString().replace('.000Z', 'Z'),
    bundle: benchCommit(i).bundleRef,
  };
  const claim = signClaim(payload, BENCH_SUBMITTER_SECRET);
  const claimId = claimIdOf(Buffer.from(claim.payload, 'base64'));
  const intake = signIntake({ claimId, audience: origin, evidence: [evidenceDigest(f.evidence)] }, BENCH_SUBMITTER_SECRET, SUBMITTER);
  return JSON.stringify({ claim, evidence: [f.evidence], intake });
}

/**
 * Plain claims go to the bench-plain task, whose base stamp difficulty is 0: the stamp then only grows with the
 * queue (one bit per doubling past 8 jobs), so pre-mining a few thousand stays cheap. Mined for the worst depth.
 */
function plainBodies(n: number, commits: SyntheticCommit[], origin: string): string[] {
  const bits = Math.floor(Math.log2(1 + n / 8)) + 1;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const secret = randomBytes(32);
    const submitter = toHex(ed25519PublicKey(secret));
    const payload: ClaimPayload = {
      v: 1,
      task: 'bench-plain',
      commit: commits[i]!.commit,
      parent: null,
      beatsParent: false,
      metric: { name: 'correct', value: 100 + (i % 300) },
      submitter,
      createdAt: '2026-11-27T08:00:00Z',
      bundle: commits[i]!.bundleRef,
    };
    const envelope = signClaim(payload, secret);
    const claimId = claimIdOf(Buffer.from(envelope.payload, 'base64'));
    const { stamp } = mineStamp(claimId, bits);
    const intake = signIntake({ claimId, audience: origin, evidence: [] }, secret, submitter);
    out.push(JSON.stringify({ claim: envelope, evidence: [], stamp, intake }));
  }
  return out;
}

async function createDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `pb_bench_${randomBytes(6).toString('hex')}`;
  const admin = postgres(DB_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(DB_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const a = postgres(DB_URL, { max: 1, onnotice: () => {} });
      await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

async function startServer(databaseUrl: string, dataDir: string): Promise<{ url: string; child: ChildProcess }> {
  // BENCH_PROFILE=<dir> writes the server's V8 CPU profile there when it exits (open it in Chrome DevTools).
  const profile = env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${resolve(env.BENCH_PROFILE)}`] : [];
  const child = spawn(process.execPath, [...profile, join(ROOT, 'bin', 'proofboard.mjs'), 'serve'], {
    cwd: ROOT,
    env: {
      ...env,
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      PROOFBOARD_DATA: dataDir,
      PROOFBOARD_OPERATOR_TOKEN: OPERATOR_TOKEN,
      PROOFBOARD_WORKER: 'off',
      PROOFBOARD_BENCH_ROUTES: '1',
      // One JSON line per request would measure the terminal, not the service; warnings and errors still print.
      LOG_LEVEL: env.LOG_LEVEL ?? 'warn',
      // The intake's per-address and per-key limits would refuse a load test from one address by design.
      PROOFBOARD_REQUESTS_PER_ADDRESS_PER_MINUTE: '10000000',
      PROOFBOARD_CLAIMS_PER_KEY_PER_MINUTE: '1000000',
      PROOFBOARD_PENDING_PER_KEY: '1000000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`server did not start:\n${out}`)), 120_000);
    child.stdout!.on('data', () => {
      const m = /serving (http:\/\/[^\s"]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(m[1]!);
      }
    });
    child.once('exit', (code) => fail(new Error(`server exited with ${code}:\n${out}`)));
  });
  return { url, child };
}

type Run = {
  name: string;
  perSecond: number;
  ok: number;
  failed: number;
  p50: number;
  p99: number;
  seconds: number;
  /** CPU milliseconds per answered request: of the server process (all its threads), and of every PostgreSQL process. */
  serverCpuMs: number;
  postgresCpuMs: number;
  /** The server's CPU per request split by thread: the event loop, its busiest other thread, all the others. */
  threads: { eventLoopMs: number; busiestOtherMs: number; restMs: number };
};

// CPU time from /proc (Linux): unlike throughput, it hardly moves when other work shares the machine, so it is the
// number to compare between runs on a noisy machine. Clock ticks are 100 per second on Linux.
const TICK_MS = 10;
function cpuMsOf(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone between listing and reading
    }
  }
  return ticks * TICK_MS;
}
/** CPU milliseconds of each thread of a process, by thread id (Node names every thread "node", so ids it is). */
function threadCpuMs(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) out.set(Number(tid), taskCpuMs(pid, Number(tid)));
  } catch {
    // gone
  }
  return out;
}
function taskCpuMs(pid: number, tid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}
function postgresPids(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/comm`, 'utf8').trim().startsWith('postgres')) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}
let serverPid = 0;

async function cannon(
  name: string,
  url: string,
  opts: { path: string; method?: 'GET' | 'POST'; bodies?: string[]; connections?: number; check?: (status: number, body: string) => boolean },
): Promise<Run> {
  let next = 0;
  let good = 0;
  let bad = 0;
  const bodies = opts.bodies;
  const pgPids = postgresPids();
  const [server0, pg0, threads0] = [cpuMsOf([serverPid]), cpuMsOf(pgPids), threadCpuMs(serverPid)];
  const started = performance.now();
  let lastAnswer = started;
  const result = await autocannon({
    url,
    connections: Math.min(opts.connections ?? CONNECTIONS, bodies?.length ?? Infinity),
    ...(bodies ? { amount: bodies.length } : { duration: DURATION_S }),
    requests: [
      {
        method: opts.method ?? 'GET',
        path: opts.path,
        headers: { 'content-type': 'application/json' },
        ...(bodies ? { setupRequest: (req: Record<string, unknown>) => ({ ...req, body: bodies[next++ % bodies.length] }) } : {}),
        onResponse: (status: number, body: string) => {
          lastAnswer = performance.now();
          return (opts.check ? opts.check(status, body) : status === 200) ? good++ : bad++;
        },
      },
    ],
  });
  // autocannon's duration is whole seconds, and a run of a fixed number of requests ends on its next one-second tick:
  // a run's time is taken from the first request to the last answer instead.
  const seconds = ((bodies ? lastAnswer : performance.now()) - started) / 1000;
  const answered = Math.max(1, good + bad);
  const serverCpuMs = (cpuMsOf([serverPid]) - server0) / answered;
  const postgresCpuMs = (cpuMsOf(postgresPids()) - pg0) / answered;
  const used = [...threadCpuMs(serverPid)].map(([tid, ms]) => ({ tid, ms: ms - (threads0.get(tid) ?? 0) }));
  const eventLoop = used.find((t) => t.tid === serverPid)?.ms ?? 0;
  const busiest = Math.max(0, ...used.filter((t) => t.tid !== serverPid).map((t) => t.ms));
  const rest = used.reduce((sum, t) => sum + t.ms, 0) - eventLoop - busiest;
  const threads = { eventLoopMs: eventLoop / answered, busiestOtherMs: busiest / answered, restMs: rest / answered };
  return { name, perSecond: good / seconds, ok: good, failed: bad, p50: result.latency.p50, p99: result.latency.p99, seconds, serverCpuMs, postgresCpuMs, threads };
}

/** The server's grouping counters (/metrics): pooled pairing checks and intake batches, with the claims they held. */
async function grouping(url: string) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return {
    pooledChecks: value('proofboard_zk_pooled_checks_total'),
    pooledClaims: value('proofboard_zk_pooled_claims_total'),
    batches: value('proofboard_intake_batches_total'),
    batchClaims: value('proofboard_intake_batch_claims_total'),
  };
}

const accepted = (want: string) => (status: number, body: string) => {
  if (status !== 200 && status !== 202) return false;
  try {
    return (JSON.parse(body) as { status?: string; created?: boolean }).status === want;
  } catch {
    return false;
  }
};

async function main() {
  log(`bench:load — ${ZK_WARM_UP} + ${ZK_CLAIMS} zk claims (each its own statement), ${PLAIN_CLAIMS} plain claims, reads for ${DURATION_S} s at ${CONNECTIONS} connections`);
  const fixtures = await zkFixtures(ZK_WARM_UP + ZK_CLAIMS);
  if (process.argv.includes('--prepare-only')) return;
  const plainCommits = Array.from({ length: PLAIN_CLAIMS }, (_, i) => syntheticCommit(`proofboard bench plain ${i}`));

  const db = await createDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), 'proofboard-bench-'));
  const server = await startServer(db.url, dataDir);
  serverPid = server.child.pid!;
  log(`server ${server.url} on PostgreSQL`);
  try {
    // Every claim's git bundle, uploaded before anything is timed: intake reads the bundle to find the commit.
    for (const made of [...fixtures.map((_, i) => benchCommit(i)), ...plainCommits]) {
      const put = await fetch(`${server.url}/v1/blobs/${made.bundleRef}`, { method: 'PUT', body: made.bundle as unknown as BodyInit, headers: { 'content-type': 'application/octet-stream' } });
      if (!put.ok) throw new Error(`bundle upload: ${put.status} ${await put.text()}`);
    }
    const { origin } = (await (await fetch(`${server.url}/v1/log/key`)).json()) as { origin: string };
    // Entries [0, warm-up) warm up; [warm-up, warm-up + claims) are timed. No statement is sent twice.
    const warmUp = fixtures.slice(0, ZK_WARM_UP).map((f, i) => zkBody(f, i, origin));
    const zkBodies = fixtures.slice(ZK_WARM_UP).map((f, i) => zkBody(f, ZK_WARM_UP + i, origin));
    log(`mining ${PLAIN_CLAIMS} stamps and signing plain claims`);
    const plain = plainBodies(PLAIN_CLAIMS, plainCommits, origin);
    const task = await fetch(`${server.url}/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${OPERATOR_TOKEN}` },
      body: JSON.stringify({
        id: 'bench-plain',
        title: 'Bench: claims without evidence',
        metricName: 'correct',
        direction: 'higher',
        policy: { quorum: 1, direction: 'higher', tolerance: { absolute: 0 }, runs: 1, seeds: [0] },
        stampBaseBits: 0,
      }),
    });
    if (!task.ok) throw new Error(`task: ${task.status} ${await task.text()}`);
    // Warm the routes and the verifier (first verify builds the curve).
    await fetch(`${server.url}/bench/bare`);
    await fetch(`${server.url}/v1/tasks/digits-mlp/leaderboard`);

    const runs: Run[] = [];
    let verified = 0;
    let reused = 0;
    const zkChecked = (status: number, body: string) => {
      if (status !== 200) return false;
      const b = JSON.parse(body) as { status?: string; verdict?: { reasonCode?: string | null } | null };
      if (b.status === 'verified') return ++verified > 0;
      return b.status === 'rejected' && b.verdict?.reasonCode === 'zk_statement_reused' && ++reused > 0;
    };
    if (warmUp.length > 0) await cannon('warm-up', server.url, { path: '/v1/claims', method: 'POST', bodies: warmUp, check: zkChecked });
    const verifiedInWarmUp = verified;
    [verified, reused] = [0, 0];
    const grouping0 = await grouping(server.url);
    runs.push(await cannon('zk claims (a Groth16 proof each, checked at intake)', server.url, { path: '/v1/claims', method: 'POST', bodies: zkBodies, check: zkChecked }));
    const grouping1 = await grouping(server.url);
    runs.push(await cannon('plain claims (no evidence, stamped, queued)', server.url, { path: '/v1/claims', method: 'POST', bodies: plain, check: accepted('pending') }));
    const bare = await cannon('bare Hono route /bench/bare', server.url, { path: '/bench/bare' });
    const reads = await cannon(`leaderboard JSON (${verifiedInWarmUp + verified} entries)`, server.url, { path: '/v1/tasks/digits-mlp/leaderboard' });
    const page = await cannon('leaderboard page (HTML)', server.url, { path: '/tasks/digits-mlp' });
    runs.push(bare, reads, page);

    log('');
    log('| run | per second | ok | failed | p50 ms | p99 ms | seconds | server CPU ms/req | PostgreSQL CPU ms/req |');
    log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of runs) {
      log(`| ${r.name} | ${r.perSecond.toFixed(1)} | ${r.ok} | ${r.failed} | ${r.p50} | ${r.p99} | ${r.seconds.toFixed(1)} | ${r.serverCpuMs.toFixed(2)} | ${r.postgresCpuMs.toFixed(2)} |`);
    }
    log('');
    const [zk, plainRun] = runs as [Run, Run];
    const summary = {
      database: 'postgres',
      claims_kind: 'zk (one Groth16 proof per claim, verified at intake)',
      zk_warm_up_claims: ZK_WARM_UP,
      zk_timed_claims: zkBodies.length,
      // Each timed claim its own statement: all of them verified, none refused as zk_statement_reused.
      zk_verified: verified,
      zk_statement_reused: reused,
      claims_per_s: round(zk.perSecond),
      claims_p50_ms: zk.p50,
      claims_p99_ms: zk.p99,
      claims_ok: zk.ok,
      claims_failed: zk.failed,
      claims_server_cpu_ms: round(zk.serverCpuMs, 2),
      // The busiest thread besides the event loop is the pairing thread in this run (PROOFBOARD_PAIRING_THREADS=1).
      claims_event_loop_cpu_ms: round(zk.threads.eventLoopMs, 2),
      claims_pairing_thread_cpu_ms: round(zk.threads.busiestOtherMs, 2),
      claims_other_threads_cpu_ms: round(zk.threads.restMs, 2),
      claims_per_pooled_pairing_check: round((grouping1.pooledClaims - grouping0.pooledClaims) / Math.max(1, grouping1.pooledChecks - grouping0.pooledChecks)),
      claims_per_intake_batch: round((grouping1.batchClaims - grouping0.batchClaims) / Math.max(1, grouping1.batches - grouping0.batches)),
      claims_postgres_cpu_ms: round(zk.postgresCpuMs, 2),
      plain_claims_per_s: round(plainRun.perSecond),
      plain_claims_p99_ms: plainRun.p99,
      reads_per_s: round(reads.perSecond),
      reads_p50_ms: reads.p50,
      reads_p99_ms: reads.p99,
      page_reads_per_s: round(page.perSecond),
      page_p99_ms: page.p99,
      bare_per_s: round(bare.perSecond),
      bare_p99_ms: bare.p99,
      read_ratio: round(reads.perSecond / bare.perSecond, 3),
      connections: CONNECTIONS,
      cores: (await import('node:os')).availableParallelism(),
      loadavg_1m: round((await import('node:os')).loadavg()[0]!),
    };
    console.log(JSON.stringify(summary));
    // The zk run measures verifications only if every timed claim was one.
    if (verified !== zkBodies.length) {
      log(`FAIL: ${verified} of ${zkBodies.length} timed zk claims verified (${reused} refused as zk_statement_reused)`);
      process.exitCode = 1;
    }
  } finally {
    // A server that does not exit after SIGTERM is a shutdown bug worth seeing, not a reason for the bench to hang.
    const exited = new Promise<boolean>((r) => server.child.once('exit', () => r(true)));
    server.child.kill('SIGTERM');
    const clean = await Promise.race([exited, new Promise<boolean>((r) => setTimeout(() => r(false), 30_000).unref())]);
    if (!clean) {
      log('WARNING: the server did not exit within 30 s of SIGTERM; killed');
      server.child.kill('SIGKILL');
      await exited;
    }
    await db.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

await main();
