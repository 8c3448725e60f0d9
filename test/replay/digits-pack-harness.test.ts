// The digits task as a pack: its Python harness (examples/digits/pack/harness/evaluate.py) must compute exactly what
// the TypeScript reference (src/zk/reference-evaluator.ts, the circuit's oracle) computes, and refuse exactly what it
// refuses, on the committed reference model and on perturbed and malformed ones. A harness that scored one model
// differently would make replay and zero-knowledge verdicts disagree on the same weights.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { countCorrect, parseDigitsCsv, parseWeightsJson } from '../../src/zk/reference-evaluator.ts';
import { ROOT } from '../helpers/processes.ts';

const PACK = join(ROOT, 'examples', 'digits', 'pack');
const rows = parseDigitsCsv(readFileSync(join(PACK, 'public-eval', 'eval.csv'), 'utf8'));
const reference = JSON.parse(readFileSync(join(ROOT, 'examples', 'digits', 'model.json'), 'utf8')) as Record<string, number[] | number[][] | string>;
const outDir = mkdtempSync(join(tmpdir(), 'proofboard-digits-harness-'));

type Score = number | 'refused';

function typescriptScore(bytes: Buffer): Score {
  try {
    return countCorrect(parseWeightsJson(bytes), rows);
  } catch {
    return 'refused';
  }
}

function pythonScore(bytes: Buffer): Score {
  writeFileSync(join(outDir, 'model.json'), bytes);
  try {
    const out = execFileSync('/usr/bin/python3', [join(PACK, 'harness', 'evaluate.py')], {
      env: { PATH: '/usr/bin:/bin', PROOFBOARD_OUTPUT_DIR: outDir, PROOFBOARD_EVAL_DIR: join(PACK, 'public-eval') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const last = out.toString('utf8').trim().split('\n').at(-1)!;
    return (JSON.parse(last) as { metric: number }).metric;
  } catch (error) {
    if ((error as { status?: number }).status === 1) return 'refused';
    throw error;
  }
}

/** A deterministic PRNG (mulberry32), so a failure names a reproducible case. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function perturbed(seed: number): Buffer {
  const next = rng(seed);
  const m = structuredClone(reference) as { W1: number[][]; B1: number[]; W2: number[][]; B2: number[] };
  const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));
  for (let n = 0; n < 1 + Math.floor(next() * 20); n++) {
    const which = Math.floor(next() * 4);
    const delta = Math.round((next() - 0.5) * (which % 2 === 0 ? 200 : 60000));
    if (which === 0) { const k = Math.floor(next() * 8); const i = Math.floor(next() * 16); m.W1[k]![i] = clamp(m.W1[k]![i]! + delta, -128, 127); }
    if (which === 1) { const k = Math.floor(next() * 8); m.B1[k] = clamp(m.B1[k]! + delta, -32768, 32767); }
    if (which === 2) { const j = Math.floor(next() * 10); const k = Math.floor(next() * 8); m.W2[j]![k] = clamp(m.W2[j]![k]! + delta, -128, 127); }
    if (which === 3) { const j = Math.floor(next() * 10); m.B2[j] = clamp(m.B2[j]! + delta, -32768, 32767); }
  }
  return Buffer.from(JSON.stringify(m));
}

const json = (over: Record<string, unknown>) => Buffer.from(JSON.stringify({ ...reference, ...over }));
const text = (s: string) => Buffer.from(s);
const refJson = JSON.stringify(reference);

describe('the digits pack harness agrees with the TypeScript reference', () => {
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('on the committed model (56 correct)', () => {
    const bytes = readFileSync(join(ROOT, 'examples', 'digits', 'model.json'));
    expect(typescriptScore(bytes)).toBe(56);
    expect(pythonScore(bytes)).toBe(56);
  });

  it('on 24 perturbed models', () => {
    const seen = new Set<Score>();
    for (let seed = 1; seed <= 24; seed++) {
      const bytes = perturbed(seed);
      const ts = typescriptScore(bytes);
      expect(pythonScore(bytes), `seed ${seed}`).toBe(ts);
      seen.add(ts);
    }
    // The perturbations change the score: agreement is not only on one value.
    expect(seen.size).toBeGreaterThan(3);
  }, 60_000);

  it('on malformed and edge-case models: both refuse, or both score alike', () => {
    const cases: Record<string, Buffer> = {
      'float weight': json({ W1: [[1.5, ...Array(15).fill(0)], ...(reference.W1 as number[][]).slice(1)] }),
      'integer written 1.0': text(refJson.replace(/"B1":\[(-?\d+)/, '"B1":[$1.0')),
      'integer written 1e1': text(refJson.replace(/"B2":\[(-?\d+)/, '"B2":[1e1')),
      'bool weight': json({ B1: [true, ...(reference.B1 as number[]).slice(1)] }),
      'out of range': json({ W2: [[128, ...Array(7).fill(0)], ...(reference.W2 as number[][]).slice(1)] }),
      'extra key': json({ extra: 1 }),
      'missing key': text(JSON.stringify({ ...reference, B2: undefined })),
      'wrong format': json({ format: 'other' }),
      'wrong shape': json({ B1: [1, 2, 3] }),
      'not JSON': text('{"format": '),
      'byte order mark': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), text(refJson)]),
      'not UTF-8': Buffer.concat([text(refJson.slice(0, -1)), Buffer.from([0xff, 0x7d])]),
      'over 16 KiB': text(refJson.replace('{', `{${' '.repeat(17 * 1024)}`)),
      'NaN': text(refJson.replace(/"B1":\[(-?\d+)/, '"B1":[NaN')),
      'array': text('[]'),
    };
    for (const [name, bytes] of Object.entries(cases)) expect(pythonScore(bytes), name).toBe(typescriptScore(bytes));
  }, 60_000);

  it('scores the eval split that examples/digits commits (the pack holds the same bytes)', () => {
    expect(readFileSync(join(PACK, 'public-eval', 'eval.csv'))).toEqual(readFileSync(join(ROOT, 'examples', 'digits', 'eval.csv')));
    expect(readFileSync(join(PACK, 'data', 'train.csv'))).toEqual(readFileSync(join(ROOT, 'examples', 'digits', 'train.csv')));
  });
});
