// How fast a third party re-checks a leaderboard: `recheck --task` over N entries from a fresh process (entries per
// second, wall clock, process start included), with the one-file build (dist/proofboard-recheck.cjs, built here first)
// and with the repository's command; and the cold time for one zk entry in a fresh process, for each.
// Baselines, measured in the same run against the same server, nothing checked: downloading the same bundles one
// request each, four at a time (what a re-check without bulk reads has to do), and reading them in one bulk answer,
// each from a process of its own as recheck runs (process start included). `recheck --task` and both baselines are
// the median of three runs.
//
// The board always holds zk entries (BENCH_RECHECK_ZK, default N/2, the rest attested by two verifier keys): their
// proofs come from bench/recheck-fixtures.ts, cached under tmp/; missing ones are proven first (slow, said so), and
// the bench fails rather than run with fewer. Every timed run is started from a small launcher process
// (bench/timed-runs.mjs), as from a shell, not by forking this one, with PATH and HOME as its environment; the one
// file is timed again with this bench's whole environment (see RUN_ENV). It stops if the one file does not run as
// built (its code cache refused, mcl's recorded set-up not applied).
//   npm run bench:recheck [-- N]
import { execFile, fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fromBase64, toHex } from '../src/attest/bytes.ts';
import { claimIdOf, signClaim, type ClaimPayload } from '../src/attest/claim.ts';
import { ed25519PublicKey } from '../src/attest/ed25519.ts';
import { signIntake } from '../src/attest/intake.ts';
import { buildReplayStatement, signAttestation } from '../src/attest/statement.ts';
import { evidenceDigest } from '../src/verdict/evidence-digest.ts';
import { loadConfig } from '../src/config.ts';
import { startService } from '../src/server.ts';
import { logVerifierKey } from '../src/service/views/log-read.ts';
import { syntheticCommit } from '../test/helpers/git-objects.ts';
import { EXAMPLE_PINS } from '../test/helpers/attestations.ts';
import { BENCH_SUBMITTER_SECRET, benchCommit, cachedEntries, CACHE_DIR, makeEntries } from './recheck-fixtures.ts';

const N = Number(process.argv[2] ?? 200);
const ZK = Number(process.env.BENCH_RECHECK_ZK ?? Math.ceil(N / 2));
const ROOT = new URL('..', import.meta.url).pathname;
const ONE_FILE = join(ROOT, 'dist', 'proofboard-recheck.cjs');
const TOKEN = 'bench-operator-token-0123456789abcdef';
const BIN = new URL('../bin/proofboard.mjs', import.meta.url).pathname;
const run = promisify(execFile);

if (!(ZK > 0 && ZK <= N)) throw new Error(`BENCH_RECHECK_ZK must be 1 to N (${N})`);
if (cachedEntries(ZK).length < ZK) {
  console.error(`proving ${ZK - cachedEntries(ZK).length} zk entries into ${CACHE_DIR} first (once; seconds each)`);
  await makeEntries(ZK, (line) => console.error(line));
}
const zkEntries = cachedEntries(ZK);
// Never a quiet fallback to fewer zk entries: the bench measures what it says or nothing.
if (zkEntries.length !== ZK) throw new Error(`only ${zkEntries.length} of ${ZK} zk entries in ${CACHE_DIR}`);
await run('npx', ['tsx', join(ROOT, 'scripts', 'build-recheck.ts')], { cwd: ROOT });

const dataDir = mkdtempSync(join(tmpdir(), 'proofboard-bench-recheck-'));
// Secrets are read from the process environment; request logs would mix with the JSON result line.
Object.assign(process.env, { PROOFBOARD_OPERATOR_TOKEN: TOKEN, PROOFBOARD_LOG_KEY: '42'.repeat(32), LOG_LEVEL: 'warn' });
const service = await startService(loadConfig({ ...process.env, PROOFBOARD_DATA: dataDir, PORT: '0', PROOFBOARD_WORKER: 'off' }), () => {});
const server = service.url;

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const bytes = body instanceof Uint8Array;
  const res = await fetch(new URL(path, server), {
    method,
    headers: { 'content-type': bytes ? 'application/octet-stream' : 'application/json', ...headers },
    body: body === undefined ? undefined : bytes ? (body as unknown as BodyInit) : JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown> & { error?: { details?: { retryAfterSeconds?: number } } };
  // The service's per-key rate limit applies to the bench too: wait as told, then go on.
  if (res.status === 429 && !(body instanceof Uint8Array)) {
    await new Promise((r) => setTimeout(r, 1000 * (json.error?.details?.retryAfterSeconds ?? 5)));
    return call(method, path, body, headers);
  }
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Uploads a commit's git bundle (intake reads it: the bundle must hold the claimed commit); returns its ref. */
async function bundleRef(made: { bundle: Uint8Array; bundleRef: string }) {
  await call('PUT', `/v1/blobs/${made.bundleRef}`, made.bundle);
  return made.bundleRef;
}

const verifierSecret = (label: string) => Uint8Array.from(createHash('sha256').update(`bench-verifier:${label}`).digest());
const verifiers = [verifierSecret('a'), verifierSecret('b')];
for (const [i, v] of verifiers.entries()) {
  await call('POST', '/v1/verifier-keys', { name: `bench-${i}`, operator: `bench-operator-${i}`, publicKey: toHex(ed25519PublicKey(v)), tasks: ['digits-mlp'] }, { authorization: `Bearer ${TOKEN}` });
}

// zk entries are bound to the fixtures' submitter key; attested ones come from many submitters, as on a real board.
const submitterOf = (i: number, zk: boolean) =>
  zk ? BENCH_SUBMITTER_SECRET : Uint8Array.from(createHash('sha256').update(`bench-submitter:${i}`).digest());
const origin = (await call('GET', '/v1/log/key')).origin as string;
const ids: string[] = [];
const t0 = performance.now();
for (let i = 0; i < N; i++) {
  const zk = zkEntries[i];
  const made = zk ? benchCommit(i) : syntheticCommit(`proofboard bench attested ${i}`);
  const commit = made.commit;
  if (zk && zk.commit !== commit) throw new Error(`zk entry ${i} is bound to another commit`);
  const value = zk?.metric.value ?? 50 + (i % 40);
  const submitterSecret = submitterOf(i, Boolean(zk));
  const payload: ClaimPayload = {
    v: 1,
    task: 'digits-mlp',
    commit,
    parent: null,
    beatsParent: false,
    metric: { name: 'correct', value },
    submitter: toHex(ed25519PublicKey(submitterSecret)),
    createdAt: new Date(Date.now() - 600_000).toISOString(),
    bundle: await bundleRef(made),
  };
  const envelope = signClaim(payload, submitterSecret);
  const id = claimIdOf(fromBase64(envelope.payload, 'payload'));
  const finishedAt = new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
  const startedAt = new Date(Date.now() - 120_000).toISOString().replace(/\.\d+Z$/, 'Z');
  const evidence = zk
    ? [zk.evidence]
    : verifiers.map((v) => ({
        type: 'attestation',
        envelope: signAttestation(
          buildReplayStatement({
            commit,
            modelSha256: null,
            predicate: {
              task: 'digits-mlp',
              claimId: id,
              metric: 'correct',
              runs: [{ seed: 0, value }],
              environment: { gpu: 'cpu', driver: null, runtimes: { python: '3.11.2' }, runnerVersion: 'bench/1', ...EXAMPLE_PINS, sandboxProfileSha256: 'c'.repeat(64) },
              startedAt,
              finishedAt,
            },
          }),
          v,
          // As verifiers sign (src/cli/attest-command.ts, src/replay/worker.ts): the keyid names the key, so a re-check
          // tries the right registry key first.
          toHex(ed25519PublicKey(v)),
        ),
      }));
  // The submitter's intake signature binds the claim id, exactly this evidence and this log (src/attest/intake.ts).
  const intake = signIntake({ claimId: id, audience: origin, evidence: evidence.map((e) => evidenceDigest(e)) }, submitterSecret, payload.submitter);
  const res = await call('POST', '/v1/claims', { claim: envelope, evidence, intake });
  if (res.status !== 'verified') throw new Error(`entry ${i} was not verified: ${JSON.stringify(res)}`);
  ids.push(id);
}
console.error(`built a leaderboard of ${N} entries (${zkEntries.length} zk) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const vkey = logVerifierKey(service.ctx);
const work = mkdtempSync(join(tmpdir(), 'proofboard-bench-state-'));

// Every timed run is started by bench/timed-runs.mjs, a small process of its own, as from a shell: forking this
// process (the server and its database, about 0.5 GB resident) would add some 20 ms to each start.
const launcher = fork(join(ROOT, 'bench', 'timed-runs.mjs'), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
type Timed = { ms: number; cpuMs: number; code: number | null; stdout: string; stderr: string; error: string | null };
// The environment of every timed run: PATH and HOME, as a third party's shell gives them, and nothing this machine
// adds. Its NODE_EXTRA_CA_CERTS alone made every node start 37 ms slower (`node -e 0`: 60 ms with it, 23 ms without:
// Node 20 parses that file, and its own root certificates, as it starts, TLS or not). The one file is also timed with
// this bench's whole environment (cold_one_inherited_env_ms), so what the machine adds is in the result too.
const RUN_ENV: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? work };
function launch(args: string[], env: NodeJS.ProcessEnv = RUN_ENV): Promise<Timed> {
  return new Promise((resolve) => {
    launcher.once('message', (m) => resolve(m as Timed));
    launcher.send({ args, env, cwd: work });
  });
}

async function timed(command: string[], args: string[], env = RUN_ENV): Promise<{ ms: number; cpuMs: number; report: { ok: boolean; claims: unknown[] } }> {
  const r = await launch([...command, ...args, '--server', server, '--log-key', vkey, '--json'], {
    ...env,
    PROOFBOARD_RECHECK_STATE: join(work, `state-${Math.random()}.json`),
  });
  if (r.error || r.stdout === '') throw new Error(`${command.join(' ')} ${args.join(' ')}: exit ${r.code} ${r.error ?? ''}\n${r.stderr}`);
  return { ms: r.ms, cpuMs: r.cpuMs, report: JSON.parse(r.stdout) as { ok: boolean; claims: unknown[] } };
}
const oneFile = [ONE_FILE];
// The one file's fast start rests on V8 taking its code cache and on mcl's recorded set-up applying here; either
// refused (another node, NODE_OPTIONS) would quietly measure a slower file, so the bench stops instead.
const version = (await launch([ONE_FILE, '--version'])).stdout.trim();
if (!/compiled code cache used; pairing library set-up from its recording$/.test(version)) throw new Error(`the one file does not start as built: ${version}`);
const repository = [BIN, 'recheck'];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// The baselines run as recheck does: in a process of their own, started by the launcher, process start included, over
// node:http (what the one file uses), each answer parsed, nothing checked. Median of three each.
// Baseline 1: the same bundles, one request each, four at a time.
const DOWNLOAD_ONE_BY_ONE = `
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
const [server, ...ids] = process.argv.slice(1);
const get = (path) => new Promise((resolve, reject) => {
  http.get(server + path, { agent }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c) => (body += c));
    res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(path + ': ' + res.statusCode))));
  }).on('error', reject);
});
let next = 0;
let got = 0;
Promise.all(Array.from({ length: 4 }, async () => {
  while (next < ids.length) { JSON.parse(await get('/v1/claims/' + ids[next++] + '/bundle')); got++; }
})).then(() => { console.log(got); agent.destroy(); });`;
// Baseline 2: the same bundles in one bulk answer, each line parsed.
const DOWNLOAD_BULK = `
const http = require('node:http');
http.get(process.argv[1] + '/v1/tasks/digits-mlp/bundles', (res) => {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (c) => (body += c));
  res.on('end', () => console.log(body.trim().split('\\n').map((l) => JSON.parse(l)).filter((l) => l.kind === 'bundle').length));
});`;
async function download(script: string, args: string[]): Promise<number> {
  const r = await launch(['-e', script, ...args]);
  if (r.code !== 0 || Number(r.stdout.trim()) !== N) throw new Error(`a download baseline did not fetch ${N} bundles: ${r.stdout} ${r.stderr}`);
  return r.ms;
}
const baselineRuns: number[] = [];
const bulkRuns: number[] = [];
for (let i = 0; i < 3; i++) {
  baselineRuns.push(await download(DOWNLOAD_ONE_BY_ONE, [server, ...ids]));
  bulkRuns.push(await download(DOWNLOAD_BULK, [server]));
}

const check = <R extends { report: { ok: boolean; claims: unknown[] } }>(r: R, what: string, n: number): R => {
  if (!r.report.ok || r.report.claims.length !== n) throw new Error(`${what} did not pass over ${n} entries`);
  return r;
};
const baselineMs = median(baselineRuns);
const bulkMs = median(bulkRuns);
const allRuns: Awaited<ReturnType<typeof timed>>[] = [];
for (let i = 0; i < 3; i++) allRuns.push(check(await timed(oneFile, ['--task', 'digits-mlp']), 'one-file recheck --task', N));
const all = [...allRuns].sort((a, b) => a.ms - b.ms)[1]!;
const allRepository = check(await timed(repository, ['--task', 'digits-mlp']), 'recheck --task', N);
const oneId = ids[0]!; // a zk entry
const cold: Awaited<ReturnType<typeof timed>>[] = [];
const coldRepository: Awaited<ReturnType<typeof timed>>[] = [];
const bareNode: number[] = [];
// Seven cold runs of the one file and of bare node, interleaved (a few milliseconds of noise each on this machine);
// the repository's command, a second each, three times.
const COLD_RUNS = 7;
for (let i = 0; i < COLD_RUNS; i++) {
  cold.push(check(await timed(oneFile, [oneId]), 'one-file recheck of one entry', 1));
  if (i < 3) coldRepository.push(check(await timed(repository, [oneId]), 'recheck of one entry', 1));
  // The floor under any cold start on this machine now: node starting and exiting, nothing else.
  bareNode.push((await launch(['-e', '0'])).ms);
}
// The same with everything this bench's environment holds (NODE_EXTRA_CA_CERTS and the rest), three times.
const inheritedVersion = (await launch([ONE_FILE, '--version'], process.env)).stdout.trim().replace(/^.*?; /, '');
const coldInherited: number[] = [];
const bareNodeInherited: number[] = [];
for (let i = 0; i < 3; i++) {
  coldInherited.push(check(await timed(oneFile, [oneId], process.env), 'one-file recheck of one entry', 1).ms);
  bareNodeInherited.push((await launch(['-e', '0'], process.env)).ms);
}
launcher.disconnect();

await service.close();
rmSync(dataDir, { recursive: true, force: true });
rmSync(work, { recursive: true, force: true });

const perS = (ms: number) => Number((N / (ms / 1000)).toFixed(1));
const result = {
  bench: 'recheck',
  entries: N,
  zk_entries: zkEntries.length,
  attested_entries: N - zkEntries.length,
  build: 'one-file',
  entries_per_s: perS(all.ms),
  recheck_task_ms: Math.round(all.ms),
  cold_one_ms: Math.round(median(cold.map((r) => r.ms))),
  cold_one_cpu_ms: Math.round(median(cold.map((r) => r.cpuMs))),
  node_start_ms: Math.round(median(bareNode)),
  cold_one_inherited_env_ms: Math.round(median(coldInherited)),
  node_start_inherited_env_ms: Math.round(median(bareNodeInherited)),
  inherited_env_has_node_extra_ca_certs: process.env.NODE_EXTRA_CA_CERTS !== undefined,
  // What the one file says of itself under the whole environment (NODE_OPTIONS there would make V8 refuse its cache).
  inherited_env_version: inheritedVersion,
  cold_one_kind: 'zk',
  baseline_download_entries_per_s: perS(baselineMs),
  ratio_to_download: Number((baselineMs / all.ms).toFixed(2)),
  bulk_download_entries_per_s: perS(bulkMs),
  ratio_to_bulk_download: Number((bulkMs / all.ms).toFixed(2)),
  repository_entries_per_s: perS(allRepository.ms),
  repository_cold_one_ms: Math.round(median(coldRepository.map((r) => r.ms))),
  recheck_task_cpu_ms: Math.round(all.cpuMs),
  repository_recheck_task_cpu_ms: Math.round(allRepository.cpuMs),
  loadavg_1m: Number(loadavg()[0]!.toFixed(1)),
  one_file_bytes: statSync(ONE_FILE).size,
};
console.log(
  `recheck --task (one file): ${N} entries (${result.zk_entries} zk) in ${(all.ms / 1000).toFixed(2)} s (${result.entries_per_s}/s); ` +
    `download only, one request each: ${result.baseline_download_entries_per_s}/s (ratio ${result.ratio_to_download}); ` +
    `bulk download only: ${result.bulk_download_entries_per_s}/s (ratio ${result.ratio_to_bulk_download}); ` +
    `repository command: ${result.repository_entries_per_s}/s; one zk entry cold: ${result.cold_one_ms} ms one file (CPU ${result.cold_one_cpu_ms} ms; bare node start ${result.node_start_ms} ms; median of ${COLD_RUNS}; with this bench's whole environment ${result.cold_one_inherited_env_ms} ms, bare node start ${result.node_start_inherited_env_ms} ms), ${result.repository_cold_one_ms} ms repository (median of 3); load average ${result.loadavg_1m}`,
);
console.log(JSON.stringify(result));
