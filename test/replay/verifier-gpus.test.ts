// A verifier signs the environment it ran jobs in. With --gpus N that environment must be measured: a machine where
// fewer than N NVIDIA devices answer refuses to start (it once signed "unknown NVIDIA GPU, count 1" on a machine
// with none, and verified a claim), and what is attested is what nvidia-smi reported, never what was asked for.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeEnvironment, GpuUnavailableError } from '../../src/replay/worker.ts';
import { cli } from '../helpers/processes.ts';

const smi = (text: string) => () => text;
const noSmi = () => {
  throw new Error('spawnSync nvidia-smi ENOENT');
};

it('attests the devices nvidia-smi reports: their model, driver and count', () => {
  const env = describeEnvironment(1, smi('NVIDIA H100 80GB HBM3, 550.54.15\nNVIDIA H100 80GB HBM3, 550.54.15\n'));
  expect(env).toMatchObject({ gpu: { model: 'NVIDIA H100 80GB HBM3', count: 2 }, driver: '550.54.15' });
  expect(describeEnvironment(2, smi('NVIDIA A100-SXM4-40GB, 535.1\nNVIDIA H100 PCIe, 535.1\n')).gpu).toEqual({ model: 'NVIDIA A100-SXM4-40GB + NVIDIA H100 PCIe', count: 2 });
});

it('refuses when fewer devices answer than were asked for, or none at all', () => {
  expect(() => describeEnvironment(2, smi('NVIDIA H100 80GB HBM3, 550.54.15\n'))).toThrow(/only 1 NVIDIA device/);
  expect(() => describeEnvironment(1, smi(''))).toThrow(GpuUnavailableError);
  expect(() => describeEnvironment(1, smi('No devices were found\n'))).toThrow(/only 0/);
  expect(() => describeEnvironment(1, noSmi)).toThrow(/nvidia-smi does not answer/);
});

it('needs no GPU query for a CPU worker', () => {
  expect(describeEnvironment(0, noSmi).gpu).toBe('cpu');
});

it('`proofboard verifier --gpus 1` refuses to start on a machine without NVIDIA devices', async (ctx) => {
  if (existsSync('/dev/nvidiactl')) ctx.skip();
  const dir = await mkdtemp(join(tmpdir(), 'proofboard-gpus-'));
  try {
    const keygen = await cli(['verifier', 'keygen', '--out', join(dir, 'key.json')]);
    expect(keygen.code, keygen.stderr).toBe(0);
    // Nothing listens on port 9: the worker must refuse before it ever polls.
    const run = await cli(['verifier', '--server', 'http://127.0.0.1:9', '--key', join(dir, 'key.json'), '--gpus', '1', '--once']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/refusing to start: --gpus 1: nvidia-smi does not answer/);
    expect(run.stdout).not.toMatch(/polling/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
