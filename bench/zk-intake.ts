// Benchmark: zk claims through the whole intake path of a real service (HTTP, signature, database, statement checks,
// pooled pairing check, transaction), c claims posted at once for c = 1, 8, 32, and how many claims each pooled
// pairing check actually covered. In-process, so the pool's counters can be read; PGlite in a temporary folder, or
// PostgreSQL with BENCH_DATABASE_URL. The last line is JSON.
//   npx tsx bench/zk-intake.ts [--rounds N --claims 1,8,32]
// Every claim carries the committed fixture's valid proof under a new claim id: the first is verified, the rest are
// refused as zk_statement_reused only after the proof was checked in full (the same work as a fresh claim).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { toHex } from '../src/attest/bytes.ts';
import { claimIdOf, signClaim, type ClaimPayload } from '../src/attest/claim.ts';
import { signIntake } from '../src/attest/intake.ts';
import { evidenceDigest } from '../src/verdict/evidence-digest.ts';
import { ed25519PublicKey } from '../src/attest/ed25519.ts';
import { loadConfig } from '../src/config.ts';
import { startService } from '../src/server.ts';
import { zkPoolStats } from '../src/service/judging/judge-zk.ts';
import { syntheticCommit } from '../test/helpers/git-objects.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '6' }, claims: { type: 'string', default: '1,8,32' } } });
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../test/zk/fixtures/${name}`, import.meta.url), 'utf8')) as unknown;
const evidence = fixture('valid-evidence.json');
const base = fixture('claim.json') as ClaimPayload;
// The fixture's public test key (test/zk/fixtures/make-fixtures.ts): the proofs are bound to it.
const secret = new Uint8Array(32).fill(7);
if (toHex(ed25519PublicKey(secret)) !== base.submitter) throw new Error('fixture key does not match the fixture claim');

const dataDir = mkdtempSync(join(tmpdir(), 'proofboard-bench-zk-intake-'));
const service = await startService(
  loadConfig({
    PORT: '0',
    PROOFBOARD_DATA: dataDir,
    PROOFBOARD_WORKER: 'off',
    LOG_LEVEL: 'warn',
    ...(process.env.BENCH_DATABASE_URL ? { DATABASE_URL: process.env.BENCH_DATABASE_URL } : {}),
    // The per-address and per-key limits would refuse a benchmark from one address by design.
    PROOFBOARD_REQUESTS_PER_ADDRESS_PER_MINUTE: '10000000',
    PROOFBOARD_CLAIMS_PER_KEY_PER_MINUTE: '1000000',
    PROOFBOARD_PENDING_PER_KEY: '1000000',
  }),
  () => {},
);
// The fixture's real git bundle (test/zk/fixtures/make-fixtures.ts): intake checks that it holds the claim's commit.
const { bundle, bundleRef } = syntheticCommit('zk-fixture');
if (bundleRef !== base.bundle) throw new Error('the fixture claim does not name syntheticCommit("zk-fixture")');
const put = await fetch(`${service.url}/v1/blobs/${bundleRef}`, { method: 'PUT', body: bundle as unknown as BodyInit, headers: { 'content-type': 'application/octet-stream' } });
if (!put.ok) throw new Error(`bundle upload: ${put.status} ${await put.text()}`);

let serial = 0;
function body(): string {
  serial += 1;
  const claim: ClaimPayload = { ...base, bundle: bundleRef, createdAt: new Date(Date.UTC(2026, 10, 27, 8, 0, 0, serial)).toISOString() };
  const envelope = signClaim(claim, secret);
  const claimId = claimIdOf(Buffer.from(envelope.payload, 'base64'));
  // The submitter's intake binds the claim to this evidence and this log (src/attest/intake.ts).
  const intake = signIntake({ claimId, audience: service.ctx.logSigner.origin, evidence: [evidenceDigest(evidence)] }, secret, base.submitter);
  return JSON.stringify({ claim: envelope, intake, evidence: [evidence] });
}

async function post(b: string): Promise<void> {
  const res = await fetch(`${service.url}/v1/claims`, { method: 'POST', body: b, headers: { 'content-type': 'application/json' } });
  const answer = (await res.json()) as { status?: string; verdict?: { reasonCode: string | null } | null };
  const checked = answer.status === 'verified' || answer.verdict?.reasonCode === 'zk_statement_reused';
  if (!checked) throw new Error(`claim not checked: ${res.status} ${JSON.stringify(answer)}`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rows = [];
await post(body());
for (const c of values.claims.split(',').map(Number)) {
  const times: number[] = [];
  const before = zkPoolStats();
  for (let r = 0; r < Number(values.rounds); r++) {
    const bodies = Array.from({ length: c }, body);
    const t = performance.now();
    await Promise.all(bodies.map(post));
    times.push(performance.now() - t);
  }
  const after = zkPoolStats();
  const ms = median(times);
  rows.push({
    claims: c,
    all_answered_ms: +ms.toFixed(1),
    claims_per_s: +((1000 * c) / ms).toFixed(1),
    ms_per_proof: +(ms / (4 * c)).toFixed(2),
    claims_per_pooled_check: +((after.claims - before.claims) / (after.checks - before.checks)).toFixed(2),
  });
}
await service.close();
rmSync(dataDir, { recursive: true, force: true });

for (const x of rows) {
  console.log(
    `${String(x.claims).padStart(3)} claims at once: all answered in ${x.all_answered_ms} ms, ${x.claims_per_s} claims/s, ` +
      `${x.ms_per_proof} ms/proof end to end, ${x.claims_per_pooled_check} claims per pooled pairing check`,
  );
}
console.log(JSON.stringify({ database: process.env.BENCH_DATABASE_URL ? 'postgres' : 'pglite', intake: rows }));
