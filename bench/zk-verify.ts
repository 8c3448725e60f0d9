// Benchmark: plain snarkjs.groth16.verify against proofboard's verify path (mcl-wasm, prepared key), one proof alone
// and pooled across concurrent claims (src/zk/batch-verifier.ts, as intake uses it), on the committed real digits-mlp
// shard proofs, in one run on the same machine. The last line is JSON.
//   npm run bench:zk-verify [-- --rounds N --claims 1,8,32]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadCircuit, DIGITS_CIRCUIT_ID, DIGITS_VKEY_SHA256 } from '../src/zk/example-task.ts';
import { createBatchVerifier } from '../src/zk/batch-verifier.ts';
import { zkEvidenceSchema } from '../src/zk/evidence-schema.ts';
import { verifyGroth16Batch, type Groth16Item } from '../src/zk/groth16-batch.ts';
import { warmUpZk } from '../src/zk/groth16-pairing.ts';
import { shutdownZk, snarkjsVerify } from '../src/zk/snarkjs-wrapper.ts';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '40' }, claims: { type: 'string', default: '1,8,32' }, cold: { type: 'boolean', default: false } },
});
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
const concurrency = values.claims.split(',').map(Number);
// Warm both paths so that curve/wasm start-up is measured only as cold start.
await snarkjsVerify(circuit, evidence.shards[0]!.proof, evidence.shards[0]!.publicSignals);
await verifyGroth16Batch(circuit, [items[0]!]);

const snark = await timeEach(rounds, (i) => {
  const s = evidence.shards[i % evidence.shards.length]!;
  return snarkjsVerify(circuit, s.proof, s.publicSignals);
});
const single = await timeEach(rounds, (i) => verifyGroth16Batch(circuit, [items[i % items.length]!]));

// c claims of one proof each (the example task is one shard) arrive together. "per claim": each claim's proof checked
// alone (one final exponentiation per claim, what intake did before pooling). "pooled": the intake batcher, one check
// for all c claims. One round's time covers all c claims; per proof = time / c.
const badClaim = items.map((it) => ({ ...it, proof: { ...it.proof, pi_c: it.proof.pi_a } }));
async function crossClaim(c: number) {
  const reps = Math.max(3, Math.ceil(rounds / c));
  const proofs = c * items.length;
  const perClaim = await timeEach(reps, async () => {
    for (let k = 0; k < c; k++) if (!(await verifyGroth16Batch(circuit, items)).ok) return false;
    return true;
  });
  const batcher = createBatchVerifier();
  const pooled = await timeEach(reps, async () => (await Promise.all(Array.from({ length: c }, () => batcher.verify(circuit, items)))).every((r) => r.ok));
  // One bad claim in the pool: the pooled check fails, every claim is re-checked alone, the bad one proof by proof.
  const oneBad = await timeEach(reps, async () => {
    const r = await Promise.all(Array.from({ length: c }, (_, k) => batcher.verify(circuit, k === 0 ? badClaim : items)));
    return r.every((x, k) => x.ok === (k !== 0));
  });
  await batcher.close();
  return {
    claims: c,
    proofs,
    per_claim_ms_per_proof: +(median(perClaim) / proofs).toFixed(3),
    pooled_ms_per_proof: +(median(pooled) / proofs).toFixed(3),
    pooled_latency_ms: +median(pooled).toFixed(1),
    one_bad_ms_per_proof: +(median(oneBad) / proofs).toFixed(3),
  };
}
const cross = [];
for (const c of concurrency) cross.push(await crossClaim(c));
await shutdownZk();

type Cold = { ms: number; warm_up_ms: number; first_check_ms: number };
const colds: Cold[] = [];
for (let i = 0; i < 3; i++) {
  const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--cold'], { encoding: 'utf8' });
  colds.push(JSON.parse(out) as Cold);
}

const snarkMs = median(snark);
const singleMs = median(single);
const widest = cross[cross.length - 1]!;
const batchedMs = widest.pooled_ms_per_proof;
const result = {
  rounds,
  batch_claims: widest.claims,
  batch_size: widest.proofs,
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
  cross_claim: cross,
};
console.log(`snarkjs.groth16.verify   ${result.snarkjs_ms} ms/proof  ${result.snarkjs_per_s}/s`);
console.log(`proofboard single        ${result.single_ms} ms/proof  ${result.single_per_s}/s  (x${result.ratio_single})`);
for (const x of cross) {
  console.log(
    `${String(x.claims).padStart(3)} concurrent claims (${x.proofs} proofs): per claim ${x.per_claim_ms_per_proof} ms/proof, ` +
      `pooled ${x.pooled_ms_per_proof} ms/proof (x${(snarkMs / x.pooled_ms_per_proof).toFixed(1)} snarkjs, all answered in ${x.pooled_latency_ms} ms), ` +
      `pooled with one bad claim ${x.one_bad_ms_per_proof} ms/proof`,
  );
}
console.log(`proofboard pooled (${result.batch_claims} claims) ${result.batched_ms_per_proof} ms/proof  ${result.batched_per_s}/s  (x${result.ratio_batched})`);
console.log(`cold start (fresh process, first check) ${result.cold_ms} ms = warm-up ${result.cold_warm_up_ms} + check ${result.cold_first_check_ms}`);
console.log(JSON.stringify(result));
