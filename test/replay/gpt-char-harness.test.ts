// The gpt-char pack's harness (examples/gpt-char/harness/evaluate.py) reads weights made by hostile code. It must score
// a well-formed file and refuse, with exit 1 (harness_failed), a pickle, NaN weights, a wrong shape, overlapping byte
// ranges, a configuration past its bounds and a tensor it does not know. Run on the host with files this test writes
// (the harness is the task's trusted code; the stage-2 sandbox around it is tested in two-stage.test.ts).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/processes.ts';

const PACK = join(ROOT, 'examples', 'gpt-char');
const dir = mkdtempSync(join(tmpdir(), 'proofboard-gpt-harness-'));

type Config = { n_layer: number; n_head: number; d_model: number; block_size: number };
const SMALL: Config = { n_layer: 1, n_head: 2, d_model: 16, block_size: 8 };

function shapes(c: Config): [string, number[]][] {
  const d = c.d_model;
  const out: [string, number[]][] = [['wte', [256, d]], ['wpe', [c.block_size, d]], ['ln_f.weight', [d]], ['ln_f.bias', [d]]];
  for (let i = 0; i < c.n_layer; i++) {
    const p = `h.${i}.`;
    out.push(
      [`${p}ln_1.weight`, [d]], [`${p}ln_1.bias`, [d]], [`${p}attn.qkv.weight`, [3 * d, d]], [`${p}attn.qkv.bias`, [3 * d]],
      [`${p}attn.proj.weight`, [d, d]], [`${p}attn.proj.bias`, [d]], [`${p}ln_2.weight`, [d]], [`${p}ln_2.bias`, [d]],
      [`${p}mlp.fc.weight`, [4 * d, d]], [`${p}mlp.fc.bias`, [4 * d]], [`${p}mlp.proj.weight`, [d, 4 * d]], [`${p}mlp.proj.bias`, [d]],
    );
  }
  return out;
}

/** A safetensors file; `edit` may change the header or the data before it is written. */
function safetensors(c: Config, edit: (header: Record<string, unknown>, data: Float32Array) => void = () => {}): Buffer {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, shape] of shapes(c)) {
    const bytes = 4 * shape.reduce((a, b) => a * b, 1);
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  header.__metadata__ = { format: 'proofboard.gpt-char.v1', ...Object.fromEntries(Object.entries(c).map(([k, v]) => [k, String(v)])) };
  const data = new Float32Array(offset / 4);
  let seed = 7;
  for (let i = 0; i < data.length; i++) data[i] = (((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5) * 0.1;
  edit(header, data);
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, Buffer.from(data.buffer)]);
}

function score(model: Buffer): { code: number; stdout: string; stderr: string } {
  writeFileSync(join(dir, 'model.safetensors'), model);
  try {
    const stdout = execFileSync('/usr/bin/python3', [join(PACK, 'harness', 'evaluate.py')], {
      env: { PATH: '/usr/bin:/bin', PROOFBOARD_OUTPUT_DIR: dir, PROOFBOARD_EVAL_DIR: join(PACK, 'eval') },
      stdio: ['ignore', 'pipe', 'pipe'],
    }).toString();
    return { code: 0, stdout, stderr: '' };
  } catch (e) {
    const err = e as { status: number; stdout: Buffer; stderr: Buffer };
    return { code: err.status, stdout: err.stdout.toString(), stderr: err.stderr.toString() };
  }
}

describe('the gpt-char harness', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('scores a well-formed model: random weights, about 8 bits per byte', () => {
    const r = score(safetensors(SMALL));
    expect(r.code, r.stderr).toBe(0);
    const { metric } = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { metric: number };
    expect(metric).toBeGreaterThan(7.5);
    expect(metric).toBeLessThan(8.5);
  }, 60_000);

  const refused: Record<string, [Buffer, RegExp]> = {
    'a pickle': [Buffer.from('80049510000000000000008c08627569c80', 'hex'), /header length|not JSON/],
    'NaN weights': [safetensors(SMALL, (_, d) => (d[5] = Number.NaN)), /NaN or infinite/],
    'a wrong shape': [safetensors(SMALL, (h) => ((h.wpe as { shape: number[] }).shape = [16, 16])), /shape/],
    'overlapping ranges': [safetensors(SMALL, (h) => ((h['ln_f.bias'] as { data_offsets: number[] }).data_offsets = (h['ln_f.weight'] as { data_offsets: number[] }).data_offsets)), /overlap|gaps/],
    'a configuration past its bounds': [safetensors({ ...SMALL, d_model: 512 }), /outside/],
    'an unknown tensor': [safetensors(SMALL, (h) => (h['h.0.extra'] = { dtype: 'F32', shape: [1], data_offsets: [0, 4] })), /tensor names differ/],
  };
  for (const [what, [model, message]] of Object.entries(refused)) {
    it(`refuses ${what} (exit 1, a reason on stderr)`, () => {
      const r = score(model);
      expect(r.code).toBe(1);
      expect(r.stdout).not.toContain('metric');
      expect(r.stderr).toMatch(message);
    }, 60_000);
  }
});
