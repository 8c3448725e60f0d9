// The cross-claim batcher with the committed real digits-mlp proofs: concurrent claims share one pairing check, a bad
// proof rejects only its own claim, a lone claim is not held back, claims that arrive while a check runs go together
// in the next one, and close() leaves nothing pending. Where waiting matters a gate holds the check, so no assertion
// depends on how fast this machine is.
import { readFileSync } from 'node:fs';
import { bn254 } from '@noble/curves/bn254.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClaimPayload } from '../../src/attest/claim.ts';
import { createBatchVerifier } from '../../src/zk/batch-verifier.ts';
import { BASE_FIELD_MODULUS } from '../../src/zk/bn254-mcl.ts';
import type { ZkEvidence } from '../../src/zk/evidence-schema.ts';
import { loadExampleTask, type ExampleTask } from '../../src/zk/example-task.ts';
import { verifyGroth16Groups, type Groth16Item } from '../../src/zk/groth16-batch.ts';
import { shutdownZk } from '../../src/zk/snarkjs-wrapper.ts';
import { verifyZkEvidence } from '../../src/zk/verify.ts';
import { toZkContext, type ZkContext } from '../../src/zk/zk-context.ts';

const fx = (name: string) => JSON.parse(readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8')) as unknown;
const evidence = fx('valid-evidence.json') as ZkEvidence;
const claim = fx('claim.json') as ClaimPayload;
// Three proofs of one circuit: the example task's one shard and the two shards of the test eval set.
const items: Groth16Item[] = [...evidence.shards, ...(fx('sharded-evidence.json') as ZkEvidence).shards].map((s) => ({
  proof: s.proof,
  publicSignals: s.publicSignals.map(BigInt),
}));

let task: ExampleTask;
let ctx: ZkContext;
beforeAll(async () => {
  task = await loadExampleTask();
  ctx = toZkContext(task.circuit, task.metric.name, task);
});
afterAll(shutdownZk);

/** A counting pooled check: how many calls, and how many claims each call carried. */
function countingGroups() {
  const calls: number[] = [];
  const verifyGroups: typeof verifyGroth16Groups = (circuit, groups) => {
    calls.push(groups.length);
    return verifyGroth16Groups(circuit, groups);
  };
  return { calls, verifyGroups };
}

/** The same statement with other proof bytes (A·r⁻¹, B·r): a distinct valid proof, as another claim would send. */
function rerandomised(ev: ZkEvidence, seed: number): ZkEvidence {
  const e = structuredClone(ev);
  for (const sh of e.shards) {
    const r = BigInt(seed) * 1_000_003n + 7n;
    const p = sh.proof;
    const A = bn254.G1.Point.fromAffine({ x: BigInt(p.pi_a[0]), y: BigInt(p.pi_a[1]) }).multiply(bn254.fields.Fr.inv(r)).toAffine();
    const B = bn254.G2.Point.fromAffine({
      x: { c0: BigInt(p.pi_b[0][0]), c1: BigInt(p.pi_b[0][1]) },
      y: { c0: BigInt(p.pi_b[1][0]), c1: BigInt(p.pi_b[1][1]) },
    })
      .multiply(r)
      .toAffine();
    p.pi_a = [A.x.toString(), A.y.toString(), '1'];
    p.pi_b = [[B.x.c0.toString(), B.x.c1.toString()], [B.y.c0.toString(), B.y.c1.toString()], ['1', '0']];
  }
  return e;
}

describe('cross-claim batch verifier', () => {
  it('many concurrent claims, one bad proof: only that claim is rejected, the rest verified in one pooled check', async () => {
    const { calls, verifyGroups } = countingGroups();
    const batcher = createBatchVerifier({ verifyGroups });
    const claims = Array.from({ length: 12 }, (_, i) => rerandomised(evidence, i + 2));
    const bad = 7;
    claims[bad]!.shards[0]!.proof.pi_c = structuredClone(claims[bad]!.shards[0]!.proof.pi_a);
    const results = await Promise.all(claims.map((e) => verifyZkEvidence(e, claim, ctx, batcher.verify)));
    expect(results.map((r) => (r.ok ? 'ok' : r.reason))).toEqual(claims.map((_, i) => (i === bad ? 'zk_pairing_failed' : 'ok')));
    expect(results[bad]).toMatchObject({ ok: false, message: expect.stringContaining('shards[0]') });
    expect(calls).toEqual([12]);
    await batcher.close();
  });

  it('a claim whose statement is wrong is refused before pooling and never reaches the pairing check', async () => {
    const { calls, verifyGroups } = countingGroups();
    const batcher = createBatchVerifier({ verifyGroups });
    const other: ClaimPayload = { ...claim, commit: 'e'.repeat(40) };
    const results = await Promise.all([
      verifyZkEvidence(evidence, claim, ctx, batcher.verify),
      verifyZkEvidence(evidence, other, ctx, batcher.verify),
      verifyZkEvidence(rerandomised(evidence, 3), claim, ctx, batcher.verify),
    ]);
    expect(results.map((r) => (r.ok ? 'ok' : r.reason))).toEqual(['ok', 'zk_binding_commit', 'ok']);
    expect(calls).toEqual([2]);
    await batcher.close();
  });

  it('a point off the curve in one claim is refused alone; its batch-mates still verify', async () => {
    const batcher = createBatchVerifier();
    const offCurve = items.map((it, i) => (i === 1 ? { ...it, proof: { ...it.proof, pi_a: [it.proof.pi_a[0], '5', '1'] as typeof it.proof.pi_a } } : it));
    const outOfField = items.map((it, i) =>
      i === 2 ? { ...it, proof: { ...it.proof, pi_c: [(BASE_FIELD_MODULUS + 1n).toString(), it.proof.pi_c[1], '1'] as typeof it.proof.pi_c } } : it,
    );
    const results = await Promise.all([items, offCurve, items, outOfField].map((g) => batcher.verify(task.circuit, g)));
    expect(results).toMatchObject([{ ok: true }, { ok: false, reason: 'zk_bad_point', index: 1 }, { ok: true }, { ok: false, reason: 'zk_bad_point', index: 2 }]);
    await batcher.close();
  });

  it('a lone claim is checked without company', async () => {
    const { calls, verifyGroups } = countingGroups();
    const batcher = createBatchVerifier({ verifyGroups });
    expect(await verifyZkEvidence(evidence, claim, ctx, batcher.verify)).toMatchObject({ ok: true, metric: { value: 56 } });
    expect(calls).toEqual([1]);
    await batcher.close();
  });

  it('while a check runs, arriving claims wait for it and go together in the next check', async () => {
    const calls: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const batcher = createBatchVerifier({
      verifyGroups: async (circuit, groups) => {
        calls.push(groups.length);
        if (calls.length === 1) await gate;
        return verifyGroth16Groups(circuit, groups);
      },
    });
    const first = batcher.verify(task.circuit, items);
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    expect(calls).toEqual([1]);
    const later = [1, 2, 3].map(() => batcher.verify(task.circuit, items));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    // The checker is busy: nothing else starts, and no timer will start it either.
    expect(calls).toEqual([1]);
    release();
    expect(await Promise.all([first, ...later])).toEqual([{ ok: true }, { ok: true }, { ok: true }, { ok: true }]);
    expect(calls).toEqual([1, 3]);
    expect(batcher.stats()).toEqual({ checks: 2, claims: 4 });
    await batcher.close();
  });

  it('a check takes at most maxProofs; the claims beyond it go in the next check', async () => {
    const { calls, verifyGroups } = countingGroups();
    const batcher = createBatchVerifier({ maxProofs: 2 * items.length, verifyGroups });
    const results = await Promise.all([1, 2, 3, 4].map(() => batcher.verify(task.circuit, items)));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(calls).toEqual([2, 2]);
    expect(batcher.stats()).toEqual({ checks: 2, claims: 4 });
    await batcher.close();
  });

  it('close() checks what is pending at once, and later calls are checked alone', async () => {
    const { calls, verifyGroups } = countingGroups();
    const batcher = createBatchVerifier({ verifyGroups });
    const pending = [batcher.verify(task.circuit, items), batcher.verify(task.circuit, items)];
    await batcher.close();
    expect((await Promise.all(pending)).every((r) => r.ok)).toBe(true);
    expect(await batcher.verify(task.circuit, items)).toEqual({ ok: true });
    expect(calls).toEqual([2, 1]);
  });

  it('a fault in the pooled check fails its callers with the error, not with a verdict', async () => {
    const batcher = createBatchVerifier({ verifyGroups: async () => Promise.reject(new Error('disk on fire')) });
    await expect(Promise.all([batcher.verify(task.circuit, items), batcher.verify(task.circuit, items)])).rejects.toThrow('disk on fire');
    await batcher.close();
  });

  it('refuses a caller whose signals were not range-checked, alone', async () => {
    const batcher = createBatchVerifier();
    const unreduced = items.map((it) => ({ ...it, publicSignals: it.publicSignals.map((s, j) => (j === 0 ? s + 2n ** 254n : s)) }));
    await expect(batcher.verify(task.circuit, unreduced)).rejects.toThrow(RangeError);
    await expect(batcher.verify(task.circuit, items.slice(0, 1).map((it) => ({ ...it, publicSignals: it.publicSignals.slice(1) })))).rejects.toThrow(RangeError);
    expect(await batcher.verify(task.circuit, items)).toEqual({ ok: true });
    await batcher.close();
  });
});
