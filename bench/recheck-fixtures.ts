// Proves the zk evidence for the recheck benchmark's leaderboard: N claims of the digits-mlp task, each a distinct
// commit by one fixed test submitter, proven with examples/digits/model.json. Proving is the slow part (seconds
// per claim), so results are cached in a folder outside the repository, per verification key (proofs made for
// another circuit build would be refused), and only missing entries are made.
//   npx tsx bench/recheck-fixtures.ts [N]
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../src/attest/bytes.ts';
import { ed25519PublicKey } from '../src/attest/ed25519.ts';
import { DIGITS_VKEY_SHA256 } from '../src/zk/example-task.ts';
import { proveClaim } from '../src/zk/prove.ts';
import type { ZkEvidence } from '../src/zk/evidence-schema.ts';
import { shutdownZk } from '../src/zk/snarkjs-wrapper.ts';

export const BENCH_SUBMITTER_SECRET = new Uint8Array(32).fill(11);
export const CACHE_DIR = process.env.PROOFBOARD_BENCH_CACHE ?? join(tmpdir(), `proofboard-bench-recheck-${DIGITS_VKEY_SHA256.slice(0, 12)}`);

export type BenchEntry = { commit: string; metric: { name: string; value: number }; evidence: ZkEvidence };

export const commitOf = (i: number) => createHash('sha1').update(`proofboard bench commit ${i}`).digest('hex');
const entryPath = (i: number) => join(CACHE_DIR, `entry-${i}.json`);

export function cachedEntries(n: number): BenchEntry[] {
  const out: BenchEntry[] = [];
  for (let i = 0; i < n && existsSync(entryPath(i)); i++) out.push(JSON.parse(readFileSync(entryPath(i), 'utf8')) as BenchEntry);
  return out;
}

export async function makeEntries(n: number, log: (line: string) => void = () => {}): Promise<BenchEntry[]> {
  mkdirSync(CACHE_DIR, { recursive: true });
  const weights = JSON.parse(readFileSync(new URL('../examples/digits/model.json', import.meta.url), 'utf8')) as unknown;
  const submitter = toHex(ed25519PublicKey(BENCH_SUBMITTER_SECRET));
  for (let i = 0; i < n; i++) {
    if (existsSync(entryPath(i))) continue;
    const t0 = performance.now();
    const r = await proveClaim({ weights, task: 'digits-mlp', commit: commitOf(i), submitterPublicKeyHex: submitter });
    const entry: BenchEntry = { commit: commitOf(i), metric: r.metric, evidence: r.evidence };
    writeFileSync(`${entryPath(i)}.tmp`, JSON.stringify(entry));
    writeFileSync(entryPath(i), JSON.stringify(entry));
    log(`proved entry ${i + 1}/${n} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  await shutdownZk();
  return cachedEntries(n);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await makeEntries(Number(process.argv[2] ?? 200), console.log);
}
