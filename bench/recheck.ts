// How fast a third party re-checks a leaderboard: `proofboard recheck --task` over N entries from a fresh process
// (entries per second, wall clock, process start included), and the cold time for one zk entry in a fresh process.
// Baseline, measured in the same run against the same server: downloading the same bundles without checking
// anything, so the cost of the checks themselves is the difference.
//
// Entries are zk-verified claims whose proofs come from bench/recheck-fixtures.ts (cached; proving is one Groth16
// proof of 54k constraints per entry). When fewer proofs are cached than entries asked for, the rest are attested claims (two
// verifier keys) and the JSON says how many of each.
//   npm run bench:recheck [-- N]
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fromBase64, toHex } from '../src/attest/bytes.ts';
import { claimIdOf, signClaim, type ClaimPayload } from '../src/attest/claim.ts';
import { ed25519PublicKey } from '../src/attest/ed25519.ts';
import { buildReplayStatement, signAttestation } from '../src/attest/statement.ts';
import { loadConfig } from '../src/config.ts';
import { startService } from '../src/server.ts';
import { logVerifierKey } from '../src/service/views/log-read.ts';
import { BENCH_SUBMITTER_SECRET, cachedEntries } from './recheck-fixtures.ts';

const N = Number(process.argv[2] ?? 200);
const TOKEN = 'bench-operator-token-0123456789abcdef';
const BIN = new URL('../bin/proofboard.mjs', import.meta.url).pathname;
const run = promisify(execFile);

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

async function bundleRef(label: string) {
  const bytes = new TextEncoder().encode(`# v2 git bundle\n${label}\n`);
  const sha = createHash('sha256').update(bytes).digest('hex');
  await call('PUT', `/v1/blobs/sha256:${sha}`, bytes);
  return `sha256:${sha}`;
}

const verifierSecret = (label: string) => Uint8Array.from(createHash('sha256').update(`bench-verifier:${label}`).digest());
const verifiers = [verifierSecret('a'), verifierSecret('b')];
for (const [i, v] of verifiers.entries()) {
  await call('POST', '/v1/verifier-keys', { name: `bench-${i}`, publicKey: toHex(ed25519PublicKey(v)), tasks: ['digits-mlp'] }, { authorization: `Bearer ${TOKEN}` });
}

const zkEntries = cachedEntries(N);
// zk entries are bound to the fixtures' submitter key; attested ones come from many submitters, as on a real board.
const submitterOf = (i: number, zk: boolean) =>
  zk ? BENCH_SUBMITTER_SECRET : Uint8Array.from(createHash('sha256').update(`bench-submitter:${i}`).digest());
const ids: string[] = [];
const t0 = performance.now();
for (let i = 0; i < N; i++) {
  const zk = zkEntries[i];
  const commit = zk?.commit ?? createHash('sha1').update(`bench attested ${i}`).digest('hex');
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
    bundle: await bundleRef(commit),
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
              environment: { gpu: 'cpu', driver: null, runtimes: { python: '3.11.2' }, runnerVersion: 'bench/1', harnessSha256: 'a'.repeat(64), datasetSha256: 'b'.repeat(64), sandboxProfileSha256: 'c'.repeat(64) },
              startedAt,
              finishedAt,
            },
          }),
          v,
        ),
      }));
  const res = await call('POST', '/v1/claims', { claim: envelope, evidence });
  if (res.status !== 'verified') throw new Error(`entry ${i} was not verified: ${JSON.stringify(res)}`);
  ids.push(id);
}
console.error(`built a leaderboard of ${N} entries (${Math.min(N, zkEntries.length)} zk) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const vkey = logVerifierKey(service.ctx);
const work = mkdtempSync(join(tmpdir(), 'proofboard-bench-state-'));

async function timed(args: string[]): Promise<{ ms: number; report: { ok: boolean; claims: unknown[] } }> {
  const start = performance.now();
  const { stdout } = await run(process.execPath, [BIN, 'recheck', ...args, '--server', server, '--log-key', vkey, '--json'], {
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, PROOFBOARD_RECHECK_STATE: join(work, `state-${Math.random()}.json`) },
  });
  return { ms: performance.now() - start, report: JSON.parse(stdout) as { ok: boolean; claims: unknown[] } };
}

// Baseline: the same bundles, downloaded with the same concurrency (4) and parsed, nothing checked.
const b0 = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: 4 }, async () => {
    while (next < ids.length) JSON.parse(await (await fetch(`${server}/v1/claims/${ids[next++]}/bundle`)).text());
  }),
);
const baselineMs = performance.now() - b0;

const all = await timed(['--task', 'digits-mlp']);
if (!all.report.ok || all.report.claims.length !== N) throw new Error(`recheck --task did not pass over ${N} entries`);
const oneId = zkEntries.length ? ids[0]! : ids[ids.length - 1]!;
const cold = await timed([oneId]);
if (!cold.report.ok) throw new Error('recheck of one entry did not pass');

await service.close();
rmSync(dataDir, { recursive: true, force: true });
rmSync(work, { recursive: true, force: true });

const result = {
  bench: 'recheck',
  entries: N,
  zk_entries: Math.min(N, zkEntries.length),
  attested_entries: N - Math.min(N, zkEntries.length),
  entries_per_s: Number((N / (all.ms / 1000)).toFixed(1)),
  recheck_task_ms: Math.round(all.ms),
  cold_one_ms: Math.round(cold.ms),
  cold_one_kind: zkEntries.length ? 'zk' : 'attested',
  baseline_download_entries_per_s: Number((N / (baselineMs / 1000)).toFixed(1)),
};
console.log(`recheck --task: ${N} entries in ${(all.ms / 1000).toFixed(1)} s (${result.entries_per_s}/s); baseline download only: ${result.baseline_download_entries_per_s}/s; one ${result.cold_one_kind} entry cold: ${result.cold_one_ms} ms`);
console.log(JSON.stringify(result));
