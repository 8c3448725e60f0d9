// Benchmark: plain snarkjs.groth16.verify against proofboard's verify path (mcl-wasm, prepared key), single and
// batched, on the committed real digits-mlp shard proofs, in one run on the same machine. The last line is JSON.
//   npm run bench:zk-verify [-- --rounds N --batch N]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadCircuit, DIGITS_CIRCUIT_ID, DIGITS_VKEY_SHA256 } from '../src/zk/example-task.ts';
import { shutdownZk, snarkjsVerify, verifyGroth16Batch, warmUpZk, zkEvidenceSchema, type Groth16Item } from '../src/zk/verify.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '40' }, batch: { type: 'string', default: '64' }, cold: { type: 'boolean', default: false } } });
const fixture = fileURLToPath(new URL('../test/zk/fixtures/valid-evidence.json', import.meta.url));
const evidence = zkEvidenceSchema.parse(JSON.parse(readFileSync(fixture, 'utf8')));
const circuit = loadCircuit(DIGITS_CIRCUIT_ID, DIGITS_VKEY_SHA256);
const items: Groth16Item[] = evidence.shards.map((s) => ({ proof: s.proof, publicSignals: s.publicSignals.map(BigInt) }));

if (values.cold) {
  // Child mode: the first check in a fresh process, key preparation and wasm start-up included.
  const t0 = performance.now();
  await warmUpZk(circuit);
  const t1 = performance.now();
  const r = await verifyGroth16Batch(circuit, [items[0]!]);
  const t2 = performance.now();
  process.stdout.write(JSON.stringify({ ok: r.ok, ms: t2 - t0, warm_up_ms: t1 - t0, first_check_ms: t2 - t1 }));
  process.exit(0);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
async function timeEach(n: number, f: (i: number) => Promise<boolean | { ok: boolean }>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = await f(i);
    out.push(performance.now() - t);
    if (r === false || (typeof r === 'object' && !r.ok)) throw new Error('a valid proof was refused');
  }
  return out;
}

const rounds = Number(values.rounds);
const batchSize = Number(values.batch);
// Warm both paths so that curve/wasm start-up is measured only as cold start.
await snarkjsVerify(circuit, evidence.shards[0]!.proof, evidence.shards[0]!.publicSignals);
await verifyGroth16Batch(circuit, [items[0]!]);

const snark = await timeEach(rounds, (i) => {
  const s = evidence.shards[i % evidence.shards.length]!;
  return snarkjsVerify(circuit, s.proof, s.publicSignals);
});
const single = await timeEach(rounds, (i) => verifyGroth16Batch(circuit, [items[i % items.length]!]));
const batch = Array.from({ length: batchSize }, (_, i) => items[i % items.length]!);
const batched = await timeEach(Math.max(3, Math.floor(rounds / 8)), () => verifyGroth16Batch(circuit, batch));
await shutdownZk();

type Cold = { ms: number; warm_up_ms: number; first_check_ms: number };
const colds: Cold[] = [];
for (let i = 0; i < 3; i++) {
  const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--cold'], { encoding: 'utf8' });
  colds.push(JSON.parse(out) as Cold);
}

const snarkMs = median(snark);
const singleMs = median(single);
const batchedMs = median(batched) / batchSize;
const result = {
  proofs: evidence.shards.length,
  rounds,
  batch_size: batchSize,
  snarkjs_ms: +snarkMs.toFixed(3),
  single_ms: +singleMs.toFixed(3),
  batched_ms_per_proof: +batchedMs.toFixed(3),
  snarkjs_per_s: +(1000 / snarkMs).toFixed(1),
  single_per_s: +(1000 / singleMs).toFixed(1),
  batched_per_s: +(1000 / batchedMs).toFixed(1),
  ratio_single: +(snarkMs / singleMs).toFixed(2),
  ratio_batched: +(snarkMs / batchedMs).toFixed(2),
  cold_ms: +median(colds.map((c) => c.ms)).toFixed(1),
  cold_warm_up_ms: +median(colds.map((c) => c.warm_up_ms)).toFixed(1),
  cold_first_check_ms: +median(colds.map((c) => c.first_check_ms)).toFixed(1),
};
console.log(`snarkjs.groth16.verify   ${result.snarkjs_ms} ms/proof  ${result.snarkjs_per_s}/s`);
console.log(`proofboard single        ${result.single_ms} ms/proof  ${result.single_per_s}/s  (x${result.ratio_single})`);
console.log(`proofboard batched (${batchSize}) ${result.batched_ms_per_proof} ms/proof  ${result.batched_per_s}/s  (x${result.ratio_batched})`);
console.log(`cold start (fresh process, first check) ${result.cold_ms} ms = warm-up ${result.cold_warm_up_ms} + check ${result.cold_first_check_ms}`);
console.log(JSON.stringify(result));
