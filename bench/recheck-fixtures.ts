// Proves the zk evidence for the recheck and load benchmarks: N claims of the digits-mlp task, each a distinct commit
// by one fixed test submitter (so N distinct statements: none is refused as zk_statement_reused), proven with
// examples/digits/model.json. Proving is the slow part (seconds to tens of seconds per claim on a loaded 2-core
// machine), so the first 112 entries (what bench:load and bench:recheck use by default) come with the repository,
// bench/fixtures/zk-digits-mlp-<key>.jsonl (about 1.4 KB each, one a line), and any others are cached under tmp/
// (gitignored). Both are per verification key (proofs made for another circuit build would be refused): after a new
// setup the committed file is simply not found, and the entries are proven again, once. An entry is written whole or
// not at all.
//   npx tsx bench/recheck-fixtures.ts [N]      (proves what is missing up to N)
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { toHex } from '../src/attest/bytes.ts';
import { ed25519PublicKey } from '../src/attest/ed25519.ts';
import { DIGITS_VKEY_SHA256 } from '../src/zk/example-task.ts';
import { proveClaim } from '../src/zk/prove.ts';
import type { ZkEvidence } from '../src/zk/evidence-schema.ts';
import { shutdownZk } from '../src/zk/snarkjs-wrapper.ts';
import { syntheticCommit } from '../test/helpers/git-objects.ts';

export const BENCH_SUBMITTER_SECRET = new Uint8Array(32).fill(11);
export const CACHE_DIR =
  process.env.PROOFBOARD_BENCH_CACHE ?? join(resolve(import.meta.dirname, '..'), 'tmp', `bench-recheck-${DIGITS_VKEY_SHA256.slice(0, 12)}`);

export type BenchEntry = { commit: string; metric: { name: string; value: number }; evidence: ZkEvidence };

/**
 * Entry i's commit: a real git commit with its bundle (intake refuses a claim whose bundle does not hold its commit),
 * made the same way every time, so a cached proof stays bound to it.
 */
export const benchCommit = (i: number) => syntheticCommit(`proofboard bench commit ${i}`);
export const commitOf = (i: number) => benchCommit(i).commit;
const entryPath = (i: number) => join(CACHE_DIR, `entry-${i}.json`);
const COMMITTED = new URL(`./fixtures/zk-digits-mlp-${DIGITS_VKEY_SHA256.slice(0, 12)}.jsonl`, import.meta.url);

let committed: BenchEntry[] | undefined;
function committedEntries(): BenchEntry[] {
  committed ??= existsSync(COMMITTED)
    ? readFileSync(COMMITTED, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as BenchEntry)
    : [];
  return committed;
}

/** Entries [0, n) as far as they exist without proving: the committed ones, then the cache. */
export function cachedEntries(n: number): BenchEntry[] {
  const out: BenchEntry[] = [];
  for (let i = 0; i < n; i++) {
    const entry = committedEntries()[i] ?? (existsSync(entryPath(i)) ? (JSON.parse(readFileSync(entryPath(i), 'utf8')) as BenchEntry) : undefined);
    // A proof bound to another commit (an older cache) is no fixture for entry i: it is proven again.
    if (!entry || entry.commit !== commitOf(i)) break;
    out.push(entry);
  }
  return out;
}

export async function makeEntries(n: number, log: (line: string) => void = () => {}): Promise<BenchEntry[]> {
  mkdirSync(CACHE_DIR, { recursive: true });
  const weights = JSON.parse(readFileSync(new URL('../examples/digits/model.json', import.meta.url), 'utf8')) as unknown;
  const submitter = toHex(ed25519PublicKey(BENCH_SUBMITTER_SECRET));
  for (let i = 0; i < n; i++) {
    if (i < cachedEntries(i + 1).length) continue;
    const t0 = performance.now();
    const r = await proveClaim({ weights, task: 'digits-mlp', commit: commitOf(i), submitterPublicKeyHex: submitter });
    const entry: BenchEntry = { commit: commitOf(i), metric: r.metric, evidence: r.evidence };
    writeFileSync(`${entryPath(i)}.tmp`, JSON.stringify(entry));
    renameSync(`${entryPath(i)}.tmp`, entryPath(i));
    log(`proved entry ${i + 1}/${n} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  await shutdownZk();
  return cachedEntries(n);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await makeEntries(Number(process.argv[2] ?? 200), console.log);
}
