// Trains the reference digits-mlp model: a float 16-8-10 MLP by full-batch gradient descent with a fixed seed,
// then quantised to the circuit's integer format. Writes examples/digits/model.json and prints the eval metric.
import { readFileSync, writeFileSync } from 'node:fs';
import { countCorrect, HIDDEN_SHIFT, MODEL_FORMAT, parseDigitsCsv, parseWeights } from '../../src/zk/reference-evaluator.ts';

const dir = new URL('.', import.meta.url);
const train = parseDigitsCsv(readFileSync(new URL('train.csv', dir), 'utf8'));
const evalRows = parseDigitsCsv(readFileSync(new URL('eval.csv', dir), 'utf8'));

let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5;
const H = 8, C = 10, F = 16;
const W1 = Array.from({ length: H }, () => Array.from({ length: F }, () => rand() * 0.5));
const b1 = new Array(H).fill(0.1);
const W2 = Array.from({ length: C }, () => Array.from({ length: H }, () => rand() * 0.5));
const b2 = new Array(C).fill(0);
const X = train.map((r) => r.x.map((v) => v / 64));
const lr = 0.5;
for (let epoch = 0; epoch < 600; epoch++) {
  const gW1 = W1.map((r) => r.map(() => 0)), gb1: number[] = b1.map(() => 0);
  const gW2 = W2.map((r) => r.map(() => 0)), gb2: number[] = b2.map(() => 0);
  X.forEach((x, n) => {
    const a = W1.map((w, k) => b1[k]! + w.reduce((s, wi, i) => s + wi * x[i]!, 0));
    const h = a.map((v) => Math.max(0, v));
    const z = W2.map((w, j) => b2[j]! + w.reduce((s, wk, k) => s + wk * h[k]!, 0));
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const sum = e.reduce((s, v) => s + v, 0);
    const dz = e.map((v, j) => v / sum - (j === train[n]!.label ? 1 : 0));
    const dh = h.map((_, k) => dz.reduce((s, d, j) => s + d * W2[j]![k]!, 0) * (a[k]! > 0 ? 1 : 0));
    dz.forEach((d, j) => { gb2[j]! += d; h.forEach((hk, k) => (gW2[j]![k]! += d * hk)); });
    dh.forEach((d, k) => { gb1[k]! += d; x.forEach((xi, i) => (gW1[k]![i]! += d * xi)); });
  });
  const s = lr / X.length;
  W1.forEach((r, k) => r.forEach((_, i) => (r[i]! -= s * gW1[k]![i]!)));
  W2.forEach((r, j) => r.forEach((_, k) => (r[k]! -= s * gW2[j]![k]!)));
  b1.forEach((_, k) => (b1[k] -= s * gb1[k]!));
  b2.forEach((_, j) => (b2[j] -= s * gb2[j]!));
}
// Quantise: the integer accumulator is A times the float one on raw (unscaled) features.
const maxAbs = (m: number[][]) => Math.max(...m.flat().map(Math.abs));
const A = (127 / maxAbs(W1)) * 64;
const Cs = 127 / maxAbs(W2);
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.round(v)));
const model = parseWeights({
  format: MODEL_FORMAT,
  W1: W1.map((r) => r.map((v) => clamp((v / 64) * A, -128, 127))),
  B1: b1.map((v) => clamp(v * A, -32768, 32767)),
  W2: W2.map((r) => r.map((v) => clamp(v * Cs, -128, 127))),
  B2: b2.map((v) => clamp(v * Cs * (A / 2 ** HIDDEN_SHIFT), -32768, 32767)),
});
writeFileSync(new URL('model.json', dir), JSON.stringify(model) + '\n');
console.log(JSON.stringify({ train_correct: countCorrect(model, train), train_rows: train.length, eval_correct: countCorrect(model, evalRows), eval_rows: evalRows.length }));
