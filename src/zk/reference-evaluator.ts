// The trusted evaluation of the digits-mlp task in TypeScript. It computes exactly what circuits/digits-mlp.circom
// computes (same fixed-point semantics, same packing, same Poseidon commitments), so it doubles as the replay
// harness's scorer and as the oracle in the circuit's property test.
import { z } from 'zod';
import { firstIssue } from '../attest/validation.ts';

export const MODEL_FORMAT = 'proofboard.digits-mlp.v1';
export const N_FEATURES = 16;
export const N_HIDDEN = 8;
export const N_CLASSES = 10;
/** Rows per shard proof: one circuit instance evaluates this many rows (circuits/digits-mlp.circom, main). */
export const SHARD_SIZE = 64;
/** Rows per Poseidon chunk of a shard commitment (circomlib's Poseidon takes at most 16 inputs). */
const CHUNK_ROWS = 16;
/** ReLU output is shifted right by this many bits (fixed-point rescale). */
export const HIDDEN_SHIFT = 6;
export const MAX_WEIGHTS_JSON_BYTES = 16 * 1024;
export const METRIC_NAME = 'correct';

const int8 = z.number().int().gte(-128).lte(127);
const int16 = z.number().int().gte(-32768).lte(32767);
const row = (n: number, cell: z.ZodNumber) => z.array(cell).length(n);

/** Untrusted model JSON: exact shapes, integer ranges the circuit range-checks, no extra keys. */
export const weightsSchema = z
  .object({
    format: z.literal(MODEL_FORMAT),
    W1: z.array(row(N_FEATURES, int8)).length(N_HIDDEN),
    B1: row(N_HIDDEN, int16),
    W2: z.array(row(N_HIDDEN, int8)).length(N_CLASSES),
    B2: row(N_CLASSES, int16),
  })
  .strict();
export type DigitsWeights = z.infer<typeof weightsSchema>;

export type EvalRow = { x: number[]; label: number };

export class WeightsFormatError extends Error {
  override name = 'WeightsFormatError';
}

/** Parses an already-decoded JSON value; throws WeightsFormatError naming the first bad field. */
export function parseWeights(untrusted: unknown): DigitsWeights {
  const r = weightsSchema.safeParse(untrusted);
  if (!r.success) {
    throw new WeightsFormatError(`weights: ${firstIssue(r.error, 'root')}`);
  }
  return r.data;
}

/** Parses model bytes, refusing oversize input before JSON.parse sees it (memory/CPU exhaustion). */
export function parseWeightsJson(bytes: Uint8Array | string): DigitsWeights {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  if (buf.length > MAX_WEIGHTS_JSON_BYTES) throw new WeightsFormatError(`weights: over ${MAX_WEIGHTS_JSON_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf));
  } catch {
    throw new WeightsFormatError('weights: not UTF-8 JSON');
  }
  return parseWeights(json);
}

/** 8x8 pixels (0..16, row-major) to 16 features: 2x2 sum pooling, each 0..64. */
export function poolFeatures(pixels: readonly number[]): number[] {
  if (pixels.length !== 64) throw new RangeError('pixels: expected 64 values');
  const out: number[] = [];
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      const at = (i: number, j: number) => pixels[(2 * r + i) * 8 + 2 * c + j]!;
      out.push(at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1));
    }
  }
  return out;
}

/** Parses the task's CSV (64 pixels 0..16 then a label 0..9 per line) into pooled rows. */
export function parseDigitsCsv(text: string): EvalRow[] {
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((line, n) => {
      const v = line.split(',').map(Number);
      if (v.length !== 65 || v.some((x, i) => !Number.isInteger(x) || x < 0 || x > (i < 64 ? 16 : 9))) {
        throw new RangeError(`digits csv line ${n + 1}: expected 64 pixels 0..16 and a label 0..9`);
      }
      return { x: poolFeatures(v.slice(0, 64)), label: v[64]! };
    });
}

/** The model's scores for one row. All intermediate values stay below 2^23, so plain numbers are exact. */
export function scores(w: DigitsWeights, x: readonly number[]): number[] {
  const h = w.W1.map((wk, k) => {
    let acc = w.B1[k]!;
    for (let i = 0; i < N_FEATURES; i++) acc += wk[i]! * x[i]!;
    return acc >= 0 ? Math.floor(acc / (1 << HIDDEN_SHIFT)) : 0;
  });
  return w.W2.map((wj, j) => {
    let acc = w.B2[j]!;
    for (let k = 0; k < N_HIDDEN; k++) acc += wj[k]! * h[k]!;
    return acc;
  });
}

/** First index of the maximum, as numpy.argmax and the circuit break ties. */
export function predict(w: DigitsWeights, x: readonly number[]): number {
  const s = scores(w, x);
  let best = 0;
  for (let j = 1; j < s.length; j++) if (s[j]! > s[best]!) best = j;
  return best;
}

/** The task metric `correct` over the given rows. */
export function countCorrect(w: DigitsWeights, rows: readonly EvalRow[]): number {
  return rows.reduce((n, r) => n + (predict(w, r.x) === r.label ? 1 : 0), 0);
}

export function toShards(rows: readonly EvalRow[]): EvalRow[][] {
  if (rows.length === 0 || rows.length % SHARD_SIZE !== 0) {
    throw new RangeError(`eval set: row count must be a positive multiple of ${SHARD_SIZE}`);
  }
  const out: EvalRow[][] = [];
  for (let i = 0; i < rows.length; i += SHARD_SIZE) out.push(rows.slice(i, i + SHARD_SIZE));
  return out;
}

type Poseidon = { (inputs: bigint[]): unknown; F: { toObject(x: unknown): bigint } };
let poseidonP: Promise<Poseidon> | undefined;
async function poseidon(inputs: bigint[]): Promise<bigint> {
  // Loaded on first use: circomlibjs pulls in the web-worker package, which takes over any worker thread that
  // imports it (the replay scoring thread imports this file for countCorrect only).
  poseidonP ??= import('circomlibjs').then((m) => m.buildPoseidonReference() as Promise<Poseidon>);
  const p = await poseidonP;
  return p.F.toObject(p(inputs));
}

function packSigned(values: readonly number[], width: number): bigint {
  const off = 1n << BigInt(width - 1);
  return values.reduce((acc, v, i) => acc + (BigInt(v) + off) * (1n << BigInt(width * i)), 0n);
}

/** Poseidon commitment to a model, packed as the circuit packs it (int8 weights 31 per element, int16 biases 15). */
export async function weightsCommitment(w: DigitsWeights): Promise<bigint> {
  const wflat = [...w.W1.flat(), ...w.W2.flat()];
  const bflat = [...w.B1, ...w.B2];
  const chunks: bigint[] = [];
  for (let c = 0; c < wflat.length; c += 31) chunks.push(packSigned(wflat.slice(c, c + 31), 8));
  chunks.push(packSigned(bflat.slice(0, 15), 16), packSigned(bflat.slice(15), 16));
  return poseidon(chunks);
}

/** One row as one field element: 16 7-bit features little-endian, the label at bit 112. */
export function packRow(r: EvalRow): bigint {
  return r.x.reduce((acc, v, i) => acc + BigInt(v) * (1n << BigInt(7 * i)), 0n) + (BigInt(r.label) << 112n);
}

/** Poseidon over the Poseidon hashes of each 16 packed rows, in order: the circuit's two-level tree. */
export async function shardCommitment(shard: readonly EvalRow[]): Promise<bigint> {
  if (shard.length !== SHARD_SIZE) throw new RangeError(`shard: expected ${SHARD_SIZE} rows`);
  const chunks: bigint[] = [];
  for (let i = 0; i < shard.length; i += CHUNK_ROWS) chunks.push(await poseidon(shard.slice(i, i + CHUNK_ROWS).map(packRow)));
  return poseidon(chunks);
}

/** chainOut of one shard proof: Poseidon(chainIn, shardCommitment). */
export function chainStep(chainIn: bigint, shard: bigint): Promise<bigint> {
  return poseidon([chainIn, shard]);
}

/**
 * The eval-set commitment a task record carries: shard commitments folded left with Poseidon from 0. A set of
 * shard proofs whose chainIn/chainOut link from 0 to this value covers every shard once, in order.
 */
export async function evalSetLayout(rows: readonly EvalRow[]): Promise<{ shardCommitments: bigint[]; evalSetCommitment: bigint }> {
  const shardCommitments: bigint[] = [];
  let chain = 0n;
  for (const s of toShards(rows)) {
    const c = await shardCommitment(s);
    shardCommitments.push(c);
    chain = await chainStep(chain, c);
  }
  return { shardCommitments, evalSetCommitment: chain };
}

/** The circuit's input object for one shard (private model and rows, public binding inputs). */
export function circuitInput(
  w: DigitsWeights,
  shard: readonly EvalRow[],
  pub: { chainIn: bigint; task: bigint; commitHi: bigint; commitLo: bigint; commitLen: bigint; submitterHi: bigint; submitterLo: bigint },
): Record<string, unknown> {
  const s = (v: bigint) => v.toString(10);
  return {
    W1: w.W1,
    B1: w.B1,
    W2: w.W2,
    B2: w.B2,
    x: shard.map((r) => r.x),
    label: shard.map((r) => r.label),
    chainIn: s(pub.chainIn),
    task: s(pub.task),
    commitHi: s(pub.commitHi),
    commitLo: s(pub.commitLo),
    commitLen: s(pub.commitLen),
    submitterHi: s(pub.submitterHi),
    submitterLo: s(pub.submitterLo),
  };
}
