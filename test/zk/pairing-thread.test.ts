// Pairing checks on a worker thread, with the committed real digits-mlp proofs: the thread gives exactly the answers
// of the same check on the calling thread (valid, a bad proof named by index, a point off the curve), a caller bug
// stays a RangeError, and a thread that dies fails its checks with a PairingThreadFault (never a verdict) and is
// replaced on the next call.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadExampleTask, type ExampleTask } from '../../src/zk/example-task.ts';
import { createPairingThreads, PairingThreadFault, type PairingThreads } from '../../src/zk/pairing-thread.ts';
import type { ZkEvidence } from '../../src/zk/evidence-schema.ts';
import { verifyGroth16Groups, type Groth16Item } from '../../src/zk/groth16-batch.ts';
import { shutdownZk } from '../../src/zk/snarkjs-wrapper.ts';

const fx = (name: string) => JSON.parse(readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8')) as ZkEvidence;
// Three proofs of one circuit: the example task's one shard and the two shards of the test eval set.
const shards = [...fx('valid-evidence.json').shards, ...fx('sharded-evidence.json').shards];
const items: Groth16Item[] = shards.map((s) => ({ proof: s.proof, publicSignals: s.publicSignals.map(BigInt) }));

let task: ExampleTask;
let threads: PairingThreads;
beforeAll(async () => {
  task = await loadExampleTask();
  threads = createPairingThreads(1);
  await threads.warmUp(task.circuit);
}, 60_000);
afterAll(async () => {
  await threads.close();
  await shutdownZk();
});

describe('pairing thread', () => {
  it('answers as the same check on this thread does: valid, a bad proof by index, a point off the curve', async () => {
    const badProof = structuredClone(items);
    badProof[2]!.proof.pi_c = structuredClone(badProof[1]!.proof.pi_c);
    const offCurve = structuredClone(items);
    offCurve[1]!.proof.pi_a = ['1', '3', '1'];
    const groups = [items, badProof, offCurve, items];
    const onThread = await threads.verifyGroups(task.circuit, groups);
    expect(onThread).toEqual(await verifyGroth16Groups(task.circuit, groups));
    expect(onThread.map((r) => (r.ok ? 'ok' : `${r.reason}@${r.index}`))).toEqual(['ok', 'zk_pairing_failed@2', 'zk_bad_point@1', 'ok']);
  }, 60_000);

  it('keeps a caller bug a RangeError', async () => {
    const short = items.map((it) => ({ ...it, publicSignals: it.publicSignals.slice(1) }));
    await expect(threads.verifyGroups(task.circuit, [short])).rejects.toThrow(RangeError);
  }, 60_000);

  it('a thread that dies fails its checks as a fault, and the next call gets a new thread', async () => {
    const victim = createPairingThreads(1);
    try {
      await victim.warmUp(task.circuit);
      const many = Array.from({ length: 64 }, () => items);
      const inFlight = victim.verifyGroups(task.circuit, many);
      // The test reaches into the pool only to kill its thread: what a crash of the thread would do.
      const workers = victim._debugWorkers();
      expect(workers).toHaveLength(1);
      await Promise.all(workers.map((w) => w.terminate()));
      await expect(inFlight).rejects.toBeInstanceOf(PairingThreadFault);
      expect(await victim.verifyGroups(task.circuit, [items])).toEqual([{ ok: true }]);
    } finally {
      await victim.close();
    }
  }, 120_000);

  it('refuses work after close, as a fault', async () => {
    const closed = createPairingThreads(1);
    await closed.close();
    await expect(closed.verifyGroups(task.circuit, [items])).rejects.toBeInstanceOf(PairingThreadFault);
  });
});
