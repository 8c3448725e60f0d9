// `proofboard prove` end to end on the CLI function: a key file and the reference model in, evidence out that the
// service's verify function accepts for the matching claim.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { proveCommand } from '../../src/cli/prove-command.ts';
import { writeNewKeyFile } from '../../src/cli/key-file.ts';
import { loadExampleTask } from '../../src/zk/example-task.ts';
import { shutdownZk } from '../../src/zk/snarkjs-wrapper.ts';
import { verifyZkEvidence } from '../../src/zk/verify.ts';
import { toZkContext } from '../../src/zk/zk-context.ts';

const dir = mkdtempSync(join(tmpdir(), 'pb-prove-'));
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await shutdownZk();
});

describe('proofboard prove', () => {
  it('writes evidence that verifies for the claim it names', async () => {
    const keyPath = join(dir, 'key.json');
    const key = writeNewKeyFile(keyPath);
    const out = join(dir, 'evidence.json');
    const model = new URL('../../examples/digits/model.json', import.meta.url).pathname;
    const commit = 'c0ffee'.padEnd(40, '0');
    const code = await proveCommand(['--task', 'digits-mlp', '--weights', model, '--commit', commit, '--key', keyPath, '--out', out]);
    expect(code).toBe(0);
    const task = await loadExampleTask();
    const claim = {
      v: 1 as const,
      task: 'digits-mlp',
      commit,
      parent: null,
      beatsParent: false,
      metric: { name: 'correct', value: 56 },
      submitter: key.publicKeyHex,
      createdAt: '2026-11-27T09:00:00Z',
      bundle: `sha256:${'0'.repeat(64)}`,
    };
    const r = await verifyZkEvidence(JSON.parse(readFileSync(out, 'utf8')), claim, toZkContext(task.circuit, task.metric.name, task));
    expect(r).toMatchObject({ ok: true, metric: { value: 56 } });
  });

  it('refuses bad usage and hostile weights with an exit code, not a crash', async () => {
    expect(await proveCommand(['--task', 'digits-mlp'])).toBe(2);
    await expect(proveCommand(['--task', 'digits-mlp', '--weights', '/dev/null', '--commit', 'a'.repeat(40), '--key', join(dir, 'key.json')])).rejects.toThrow(/weights/);
  });
});
