// G2 subgroup check, µs per check, on G2 points made from the committed real proofs' B points (each times random
// scalars, in affine form as g2From hands them over), in one run on the same machine:
//   baseline  the previous check, ψ(Q) = [6x₀²]Q with ψ on BigInt coordinates and mcl.mul (copied here, unchanged);
//   new       src/zk/g2-subgroup.ts isInG2Subgroup: [x₀+1]Q + ψ([x₀]Q) + ψ²([x₀]Q) = ψ³([2x₀]Q) on wasm memory;
//   values    the same formula and chain on mcl-wasm value objects (getX/setX, mcl.add ...), the variant not taken.
// Rounds alternate the three; the numbers are medians over rounds, wall clock and process CPU time (the CPU time
// is the steadier one on a shared machine). Every variant must accept every point and refuse non-G2 twist points.
// The last line is JSON.
//   npx tsx bench/g2-subgroup.ts [--rounds 7 --points 300]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import mcl from 'mcl-wasm';
import { DIGITS_CIRCUIT_ID, DIGITS_VKEY_SHA256, loadCircuit } from '../src/zk/example-task.ts';
import { BASE_FIELD_MODULUS } from '../src/zk/bn254-mcl.ts';
import { zkEvidenceSchema } from '../src/zk/evidence-schema.ts';
import { isInG2Subgroup } from '../src/zk/g2-subgroup.ts';
import { warmUpZk } from '../src/zk/groth16-pairing.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, points: { type: 'string', default: '300' } } });
const rounds = Number(values.rounds);
const nPoints = Number(values.points);

await warmUpZk(loadCircuit(DIGITS_CIRCUIT_ID, DIGITS_VKEY_SHA256)); // mcl on BN_SNARK1, order checks off as in intake

type F2 = readonly [bigint, bigint];
const Q = BASE_FIELD_MODULUS;
const fq = (v: bigint) => ((v % Q) + Q) % Q;
const f2mul = (a: F2, b: F2): F2 => [fq(a[0] * b[0] - a[1] * b[1]), fq(a[0] * b[1] + a[1] * b[0])];
function f2pow(a: F2, e: bigint): F2 {
  let r: F2 = [1n, 0n];
  for (let b = a; e > 0n; e >>= 1n, b = f2mul(b, b)) if (e & 1n) r = f2mul(r, b);
  return r;
}
const PSI_X = f2pow([9n, 1n], (Q - 1n) / 3n);
const PSI_Y = f2pow([9n, 1n], (Q - 1n) / 2n);
const X0 = 4965661367192848881n;

// ---- baseline: the check this replaces, as it was ----
const PSI_EIGENVALUE = 6n * X0 * X0;
function baselinePsiEigenvalueCheck(g: mcl.G2, x: F2, y: F2): boolean {
  const px = f2mul([x[0], fq(-x[1])], PSI_X);
  const py = f2mul([y[0], fq(-y[1])], PSI_Y);
  const q = new mcl.G2();
  q.setStr(`1 ${px[0]} ${px[1]} ${py[0]} ${py[1]}`, 10);
  const k = new mcl.Fr();
  k.setStr(PSI_EIGENVALUE.toString(10), 10);
  return mcl.mul(g, k).isEqual(q);
}

// ---- values: the new formula on mcl-wasm value objects ----
const fp2 = (v: F2) => {
  const e = new mcl.Fp2();
  e.setStr(`${v[0]} ${v[1]}`, 10);
  return e;
};
const conj = (v: F2): F2 => [v[0], fq(-v[1])];
const [vPsiX, vPsiY, vPsi2X, vPsi2Y] = [PSI_X, PSI_Y, f2mul(PSI_X, conj(PSI_X)), f2mul(PSI_Y, conj(PSI_Y))].map(fp2) as [mcl.Fp2, mcl.Fp2, mcl.Fp2, mcl.Fp2];
const mclConj = (a: mcl.Fp2) => {
  a.set_b(mcl.neg(a.get_b()));
  return a;
};
function valuesPsi(p: mcl.G2): mcl.G2 {
  const r = new mcl.G2();
  r.setX(mcl.mul(mclConj(p.getX()), vPsiX));
  r.setY(mcl.mul(mclConj(p.getY()), vPsiY));
  r.setZ(mclConj(p.getZ()));
  return r;
}
function valuesPsi2(p: mcl.G2): mcl.G2 {
  const r = new mcl.G2();
  r.setX(mcl.mul(p.getX(), vPsi2X));
  r.setY(mcl.mul(p.getY(), vPsi2Y));
  r.setZ(p.getZ());
  return r;
}
const NAF: number[] = [];
for (let k = X0; k > 0n; k >>= 1n) {
  const z = k & 1n ? ((k & 7n) > 4n ? (k & 7n) - 8n : k & 7n) : 0n;
  k -= z;
  NAF.unshift(Number(z));
}
function valuesCheck(g: mcl.G2): boolean {
  const g3 = mcl.add(mcl.dbl(g), g);
  const table = [g, g3, mcl.neg(g), mcl.neg(g3)];
  mcl.normalizeVec(table);
  const entry = (d: number) => table[d > 0 ? (d - 1) >> 1 : 2 + ((-d - 1) >> 1)]!;
  let a = entry(NAF[0]!);
  for (let i = 1; i < NAF.length; i++) {
    a = mcl.dbl(a);
    if (NAF[i]) a = mcl.add(a, entry(NAF[i]!));
  }
  const b = valuesPsi(a);
  return mcl.add(mcl.add(g, a), b).isEqual(valuesPsi2(mcl.sub(mcl.dbl(b), a)));
}

// ---- points ----
type Point = { g: mcl.G2; x: F2; y: F2 };
const toPoint = (g: mcl.G2): Point => {
  const n = mcl.normalize(g);
  const [, x0, x1, y0, y1] = n.getStr(10).split(' ').map(BigInt) as [bigint, bigint, bigint, bigint, bigint];
  return { g: n, x: [x0, x1], y: [y0, y1] };
};
const fixture = fileURLToPath(new URL('../test/zk/fixtures/valid-evidence.json', import.meta.url));
const bs = zkEvidenceSchema.parse(JSON.parse(readFileSync(fixture, 'utf8'))).shards.map(({ proof }) => {
  const g = new mcl.G2();
  g.setStr(`1 ${proof.pi_b[0][0]} ${proof.pi_b[0][1]} ${proof.pi_b[1][0]} ${proof.pi_b[1][1]}`, 10);
  return g;
});
const points: Point[] = bs.map(toPoint);
while (points.length < nPoints) {
  const k = new mcl.Fr();
  k.setByCSPRNG();
  points.push(toPoint(mcl.mul(bs[points.length % bs.length]!, k)));
}
// Twist points (c, 7) for small c: almost all outside G2 (the twist has 2^254 points for each one of G2).
const outside: Point[] = [];
const bTwist = mcl.div(fp2([3n, 0n]), fp2([9n, 1n]));
for (let c = 1n; outside.length < 8; c++) {
  const x = fp2([c, 7n]);
  const [ok, y] = mcl.squareRoot(mcl.add(mcl.mul(mcl.sqr(x), x), bTwist));
  if (!ok) continue;
  const g = new mcl.G2();
  g.setX(x);
  g.setY(y!);
  g.setZ(fp2([1n, 0n]));
  if (!g.isValidOrder()) outside.push(toPoint(g));
}

const variants: [string, (p: Point) => boolean][] = [
  ['baseline ψ(Q) = [6x₀²]Q', (p) => baselinePsiEigenvalueCheck(p.g, p.x, p.y)],
  ['new (wasm memory)', (p) => isInG2Subgroup(p.g)],
  ['new on mcl values', (p) => valuesCheck(p.g)],
];
for (const [name, check] of variants) {
  if (!points.every(check)) throw new Error(`${name}: refused a G2 point`);
  if (outside.some(check)) throw new Error(`${name}: accepted a point outside G2`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const wall: number[][] = variants.map(() => []);
const cpu: number[][] = variants.map(() => []);
for (let r = 0; r <= rounds; r++) {
  variants.forEach(([, check], v) => {
    const t = performance.now();
    const c = cpuUs();
    for (const p of points) check(p);
    // Round 0 only warms the JIT.
    if (r > 0) {
      cpu[v]!.push((cpuUs() - c) / points.length);
      wall[v]!.push(((performance.now() - t) * 1000) / points.length);
    }
  });
}

const us = variants.map((_, v) => ({ wall: +median(wall[v]!).toFixed(1), cpu: +median(cpu[v]!).toFixed(1) }));
console.log(`${points.length} G2 points from ${bs.length} real proof B points, ${rounds} rounds; µs per check, median`);
console.log(`${'check'.padEnd(26)} ${'wall'.padStart(8)} ${'cpu'.padStart(8)}  ratio to baseline (cpu)`);
variants.forEach(([name], v) => {
  console.log(`${name.padEnd(26)} ${us[v]!.wall.toFixed(1).padStart(8)} ${us[v]!.cpu.toFixed(1).padStart(8)}  x${(us[0]!.cpu / us[v]!.cpu).toFixed(2)}`);
});
console.log(
  JSON.stringify({
    points: points.length,
    rounds,
    baseline: 'psi_eq_6x0sq_mcl_mul',
    baseline_us: us[0]!.wall,
    new_us: us[1]!.wall,
    values_us: us[2]!.wall,
    baseline_cpu_us: us[0]!.cpu,
    new_cpu_us: us[1]!.cpu,
    values_cpu_us: us[2]!.cpu,
    ratio: +(us[0]!.wall / us[1]!.wall).toFixed(2),
    cpu_ratio: +(us[0]!.cpu / us[1]!.cpu).toFixed(2),
  }),
);
