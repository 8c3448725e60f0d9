// The reference evaluator must return exactly the circuit's outputs; parseWeights must refuse hostile model files.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { circuitArtifacts, DIGITS_CIRCUIT_ID, loadDigitsEvalRows } from '../../src/zk/example-task.ts';
import {
  chainStep,
  circuitInput,
  countCorrect,
  MODEL_FORMAT,
  parseWeights,
  parseWeightsJson,
  poolFeatures,
  predict,
  shardCommitment,
  SHARD_SIZE,
  toShards,
  weightsCommitment,
  WeightsFormatError,
  type DigitsWeights,
  type EvalRow,
} from '../../src/zk/reference-evaluator.ts';
import { calculateWitness, shutdownZk } from '../../src/zk/snarkjs-wrapper.ts';

const modelJson = readFileSync(new URL('../../examples/digits/model.json', import.meta.url));
const model = parseWeightsJson(modelJson);
afterAll(shutdownZk);

describe('parseWeights', () => {
  it('accepts the reference model, which scores 56 of 64', () => {
    expect(countCorrect(model, loadDigitsEvalRows())).toBe(56);
  });

  const bad: [string, (m: Record<string, unknown>) => void][] = [
    ['an extra key', (m) => (m.extra = 1)],
    ['a weight of 128', (m) => ((m.W1 as number[][])[0]![0] = 128)],
    ['a weight of -129', (m) => ((m.W2 as number[][])[9]![7] = -129)],
    ['a fractional weight', (m) => ((m.W1 as number[][])[3]![3] = 0.5)],
    ['a bias of 32768', (m) => ((m.B1 as number[])[0] = 32768)],
    ['a string weight', (m) => ((m.W1 as unknown[][])[0]![0] = '1')],
    ['a short row', (m) => (m.W1 as number[][])[0]!.pop()],
    ['an extra row', (m) => (m.W2 as number[][]).push(new Array(8).fill(0))],
    ['another format', (m) => (m.format = 'proofboard.digits-mlp.v0')],
    ['a missing key', (m) => delete m.B2],
  ];
  for (const [what, mutate] of bad) {
    it(`refuses ${what}`, () => {
      const m = JSON.parse(modelJson.toString()) as Record<string, unknown>;
      mutate(m);
      expect(() => parseWeights(m)).toThrow(WeightsFormatError);
    });
  }

  it('refuses oversize and non-UTF-8 input before parsing it', () => {
    expect(() => parseWeightsJson(' '.repeat(17 * 1024))).toThrow(/over/);
    expect(() => parseWeightsJson(Uint8Array.from([0xff, 0xfe]))).toThrow(/UTF-8/);
  });

  it('never throws anything but WeightsFormatError on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        try {
          parseWeights(v);
        } catch (e) {
          expect(e).toBeInstanceOf(WeightsFormatError);
        }
      }),
    );
  });
});

describe('evaluation semantics', () => {
  it('pools 2x2 blocks', () => {
    const px = Array.from({ length: 64 }, (_, i) => (i % 8 < 2 && i < 16 ? 16 : 0));
    expect(poolFeatures(px)).toEqual([64, ...new Array(15).fill(0)]);
  });

  it('breaks argmax ties toward the first index, like numpy', () => {
    const zero: DigitsWeights = { format: MODEL_FORMAT, W1: grid(8, 16, 0), B1: new Array(8).fill(0), W2: grid(10, 8, 0), B2: [0, 5, 5, 0, 0, 0, 0, 0, 0, 5] };
    expect(predict(zero, new Array(16).fill(3))).toBe(1);
  });
});

const grid = (r: number, c: number, v: number) => Array.from({ length: r }, () => new Array(c).fill(v));
const int = (lo: number, hi: number) => fc.integer({ min: lo, max: hi });
// Extremes included on purpose: they drive the accumulators to the bounds the circuit's range checks assume.
const w8 = fc.oneof(int(-128, 127), fc.constantFrom(-128, 127, 0));
const w16 = fc.oneof(int(-32768, 32767), fc.constantFrom(-32768, 32767, 0));
const weightsArb: fc.Arbitrary<DigitsWeights> = fc.record({
  format: fc.constant(MODEL_FORMAT),
  W1: fc.array(fc.array(w8, { minLength: 16, maxLength: 16 }), { minLength: 8, maxLength: 8 }),
  B1: fc.array(w16, { minLength: 8, maxLength: 8 }),
  W2: fc.array(fc.array(w8, { minLength: 8, maxLength: 8 }), { minLength: 10, maxLength: 10 }),
  B2: fc.array(w16, { minLength: 10, maxLength: 10 }),
}) as fc.Arbitrary<DigitsWeights>;
const rowArb: fc.Arbitrary<EvalRow> = fc.record({
  x: fc.array(fc.oneof(int(0, 64), fc.constantFrom(0, 64)), { minLength: 16, maxLength: 16 }),
  label: int(0, 9),
});

describe('reference evaluator = circuit witness', () => {
  const wasm = circuitArtifacts(DIGITS_CIRCUIT_ID).wasm;
  const pub = { chainIn: 11n, task: 12n, commitHi: 13n, commitLo: 14n, commitLen: 20n, submitterHi: 15n, submitterLo: 16n };

  async function agree(w: DigitsWeights, shard: EvalRow[]) {
    const wit = await calculateWitness(circuitInput(w, shard, pub), wasm);
    const sc = await shardCommitment(shard);
    // Witness layout: [1, outputs (weightsCommitment, shardCommitment, chainOut, correct), public inputs...].
    expect(wit.slice(1, 5)).toEqual([await weightsCommitment(w), sc, await chainStep(pub.chainIn, sc), BigInt(countCorrect(w, shard))]);
  }

  it('agrees on the reference model and the real eval shards', async () => {
    for (const shard of toShards(loadDigitsEvalRows())) await agree(model, shard);
  });

  it('agrees on random models and rows, extremes included', async () => {
    await fc.assert(
      fc.asyncProperty(weightsArb, fc.array(rowArb, { minLength: SHARD_SIZE, maxLength: SHARD_SIZE }), async (w, rows) => agree(w, rows)),
      { numRuns: 6 },
    );
  });

  it('agrees on models near a decision (few non-zero weights, frequent ties)', async () => {
    const sparse = fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: w8 });
    const arb = weightsArb.chain((w) =>
      fc.record({
        format: fc.constant(MODEL_FORMAT),
        W1: fc.constant(w.W1),
        B1: fc.array(int(-64, 64), { minLength: 8, maxLength: 8 }),
        W2: fc.array(fc.array(sparse, { minLength: 8, maxLength: 8 }), { minLength: 10, maxLength: 10 }),
        B2: fc.array(int(-2, 2), { minLength: 10, maxLength: 10 }),
      }),
    ) as fc.Arbitrary<DigitsWeights>;
    await fc.assert(fc.asyncProperty(arb, async (w) => agree(w, toShards(loadDigitsEvalRows())[0]!)), { numRuns: 4 });
  });
});
