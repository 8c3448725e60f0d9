// verifyZkEvidence with real digits-mlp proofs: committed fixtures and fresh ones. Every hostile variant must be
// refused with its own reason code, before the pairing wherever the statement alone shows the problem. The example
// task is one shard; the shard rules are tested on a two-shard test eval set (sharded-task.ts).
import { readFileSync } from 'node:fs';
import { bn254 } from '@noble/curves/bn254.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClaimPayload } from '../../src/attest/claim.ts';
import { BASE_FIELD_MODULUS } from '../../src/zk/bn254-mcl.ts';
import { registerCircuit } from '../../src/zk/circuit-registration.ts';
import type { Groth16Proof, ZkEvidence } from '../../src/zk/evidence-schema.ts';
import { loadCircuit, loadExampleTask, type ExampleTask } from '../../src/zk/example-task.ts';
import { verifyGroth16Batch } from '../../src/zk/groth16-batch.ts';
import { parseWeightsJson, weightsCommitment, type DigitsWeights } from '../../src/zk/reference-evaluator.ts';
import { proveClaim } from '../../src/zk/prove.ts';
import { commitToFields, FIELD_MODULUS, submitterToFields, taskToField } from '../../src/zk/statement.ts';
import { shardedContext } from './sharded-task.ts';
import { shutdownZk, snarkjsVerify } from '../../src/zk/snarkjs-wrapper.ts';
import { verifyZkEvidence, type ZkCheck } from '../../src/zk/verify.ts';
import { toZkContext, type ZkContext } from '../../src/zk/zk-context.ts';

const fx = (name: string) => JSON.parse(readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8')) as unknown;
const evidence = fx('valid-evidence.json') as ZkEvidence;
const claim = fx('claim.json') as ClaimPayload;
const sharded = fx('sharded-evidence.json') as ZkEvidence;
const shardedClaim = fx('sharded-claim.json') as ClaimPayload;
const otherProof = fx('other-key-proof.json') as { proof: Groth16Proof; publicSignals: string[] };
const model = parseWeightsJson(readFileSync(new URL('../../examples/digits/model.json', import.meta.url)));
const manifest = JSON.parse(readFileSync(new URL('../../circuits/build/manifest.json', import.meta.url), 'utf8')) as {
  circuits: Record<string, { files: Record<string, string> }>;
};

let task: ExampleTask;
let ctx: ZkContext;
let sctx: ZkContext;
beforeAll(async () => {
  task = await loadExampleTask();
  ctx = toZkContext(task.circuit, task.metric.name, task);
  sctx = await shardedContext(task.circuit);
});
afterAll(shutdownZk);

const copy = <T>(v: T): T => structuredClone(v);
const withSignal = (ev: ZkEvidence, shard: number, idx: number, f: (v: bigint) => bigint) => {
  const e = copy(ev);
  e.shards[shard]!.publicSignals[idx] = f(BigInt(e.shards[shard]!.publicSignals[idx]!)).toString(10);
  return e;
};
async function expectDenied(p: Promise<ZkCheck>, reason: string) {
  const r = await p;
  expect(r.ok ? 'ok' : r.reason).toBe(reason);
}

describe('valid evidence', () => {
  it('accepts the committed fixture: one shard, metric 56, one statement digest', async () => {
    const r = await verifyZkEvidence(evidence, claim, ctx);
    expect(r).toMatchObject({ ok: true, metric: { name: 'correct', value: 56 } });
    if (!r.ok) return;
    expect(r.statementDigests).toHaveLength(1);
    expect(r.weightsCommitment).toBe((await weightsCommitment(model)).toString());
  });

  it('accepts the two-shard fixture: the metric is the sum over shards, one digest per shard', async () => {
    expect(sharded.shards).toHaveLength(2);
    const perShard = sharded.shards.map((s) => Number(s.publicSignals[3]));
    const r = await verifyZkEvidence(sharded, shardedClaim, sctx);
    expect(r).toMatchObject({ ok: true, metric: { name: 'correct', value: perShard[0]! + perShard[1]! } });
    if (!r.ok) return;
    expect(new Set(r.statementDigests).size).toBe(2);
    // The same proofs are not evidence for the one-shard task, whose eval set they do not cover.
    await expectDenied(verifyZkEvidence(sharded, shardedClaim, ctx), 'zk_shard_coverage');
  });

  it('agrees with snarkjs on the fixtures', async () => {
    for (const s of [...evidence.shards, ...sharded.shards]) expect(await snarkjsVerify(task.circuit, s.proof, s.publicSignals)).toBe(true);
  });

  it('accepts shards in any order', async () => {
    const e = copy(sharded);
    e.shards.reverse();
    expect((await verifyZkEvidence(e, shardedClaim, sctx)).ok).toBe(true);
  });

  it('accepts the published weights and refuses weights that do not match the commitment', async () => {
    expect((await verifyZkEvidence(evidence, claim, toZkContext(task.circuit, task.metric.name, task, await weightsCommitment(model)))).ok).toBe(true);
    const other: DigitsWeights = copy(model);
    other.W1[0]![0] = other.W1[0]![0] === 5 ? 6 : 5;
    await expectDenied(verifyZkEvidence(evidence, claim, toZkContext(task.circuit, task.metric.name, task, await weightsCommitment(other))), 'zk_binding_weights');
  });

  it('a re-randomised proof verifies but has the same statement digests (malleability)', async () => {
    const r = 123456789123456789123456789n;
    const rInv = bn254.fields.Fr.inv(r);
    const e = copy(evidence);
    const p = e.shards[0]!.proof;
    const A = bn254.G1.Point.fromAffine({ x: BigInt(p.pi_a[0]), y: BigInt(p.pi_a[1]) }).multiply(rInv).toAffine();
    const B = bn254.G2.Point.fromAffine({
      x: { c0: BigInt(p.pi_b[0][0]), c1: BigInt(p.pi_b[0][1]) },
      y: { c0: BigInt(p.pi_b[1][0]), c1: BigInt(p.pi_b[1][1]) },
    })
      .multiply(r)
      .toAffine();
    p.pi_a = [A.x.toString(), A.y.toString(), '1'];
    p.pi_b = [[B.x.c0.toString(), B.x.c1.toString()], [B.y.c0.toString(), B.y.c1.toString()], ['1', '0']];
    expect(p.pi_a).not.toEqual(evidence.shards[0]!.proof.pi_a);
    const [a, b] = [await verifyZkEvidence(evidence, claim, ctx), await verifyZkEvidence(e, claim, ctx)];
    expect(b.ok).toBe(true);
    expect(a.ok && b.ok && b.statementDigests).toEqual(a.ok && a.statementDigests);
  });
});

describe('fresh proofs', () => {
  it('proves and verifies another commit and submitter; the statements differ from the fixture', async () => {
    const c2: ClaimPayload = { ...claim, commit: 'e'.repeat(64), submitter: '5'.repeat(64) };
    const steps: string[] = [];
    const onProgress = (done: number, total: number, stage: string) => steps.push(`${done}/${total} ${stage}`);
    const r = await proveClaim({ weights: model, task: c2.task, commit: c2.commit, submitterPublicKeyHex: c2.submitter, onProgress });
    expect(r.metric.value).toBe(56);
    // The progress a CLI bar shows: witness, then proof, for the one shard.
    expect(steps).toEqual(['0/2 shard 1/1: computing the witness', '1/2 shard 1/1: proving', '2/2 done']);
    const v = await verifyZkEvidence(r.evidence, c2, ctx);
    const v0 = await verifyZkEvidence(evidence, claim, ctx);
    expect(v.ok && v0.ok).toBe(true);
    if (v.ok && v0.ok) expect(v.statementDigests.filter((d) => v0.statementDigests.includes(d))).toEqual([]);
    // The fixture's proofs do not carry over to this claim.
    await expectDenied(verifyZkEvidence(evidence, c2, ctx), 'zk_binding_commit');
  });
});

describe('refused evidence', () => {
  it('a tampered proof', async () => {
    const e = copy(sharded);
    e.shards[1]!.proof.pi_c = copy(sharded.shards[0]!.proof.pi_c);
    await expectDenied(verifyZkEvidence(e, shardedClaim, sctx), 'zk_pairing_failed');
    const f = copy(evidence);
    f.shards[0]!.proof = copy(otherProof.proof);
    await expectDenied(verifyZkEvidence(f, claim, ctx), 'zk_pairing_failed');
  });

  const perSignal: [number, string][] = [
    [0, 'zk_binding_weights'],
    [1, 'zk_shard_coverage'],
    [2, 'zk_shard_coverage'],
    [3, 'zk_binding_metric'],
    [4, 'zk_shard_coverage'],
    [5, 'zk_binding_task'],
    [6, 'zk_binding_commit'],
    [7, 'zk_binding_commit'],
    [8, 'zk_binding_commit'],
    [9, 'zk_binding_submitter'],
    [10, 'zk_binding_submitter'],
  ];
  for (const [idx, reason] of perSignal) {
    it(`public signal ${idx} changed -> ${reason}`, async () => {
      // One shard alone names no model the others contradict: another weights commitment fails only the pairing.
      const alone = idx === 0 ? 'zk_pairing_failed' : reason;
      await expectDenied(verifyZkEvidence(withSignal(evidence, 0, idx, (v) => v + 1n), claim, ctx), alone);
      for (const shard of [0, 1]) await expectDenied(verifyZkEvidence(withSignal(sharded, shard, idx, (v) => v + 1n), shardedClaim, sctx), reason);
    });
  }

  it('signals changed consistently with the claim fail the pairing (the proof binds them)', async () => {
    // correct + 1 and the claim's metric + 1
    await expectDenied(verifyZkEvidence(withSignal(evidence, 0, 3, (v) => v + 1n), { ...claim, metric: { name: 'correct', value: 57 } }, ctx), 'zk_pairing_failed');
    const more = { name: 'correct', value: shardedClaim.metric.value + 1 };
    await expectDenied(verifyZkEvidence(withSignal(sharded, 1, 3, (v) => v + 1n), { ...shardedClaim, metric: more }, sctx), 'zk_pairing_failed');
    // the same other weights commitment on every shard
    let e = sharded;
    for (let s = 0; s < e.shards.length; s++) e = withSignal(e, s, 0, (v) => v + 1n);
    await expectDenied(verifyZkEvidence(e, shardedClaim, sctx), 'zk_pairing_failed');
  });

  const moved = (c: ClaimPayload) => {
    const e = copy(evidence);
    const t = taskToField(c.task);
    const k = commitToFields(c.commit);
    const s = submitterToFields(c.submitter);
    for (const sh of e.shards) {
      [t, k.commitHi, k.commitLo, k.commitLen, s.submitterHi, s.submitterLo].forEach((v, i) => (sh.publicSignals[5 + i] = v.toString()));
    }
    return e;
  };
  it('a proof moved to another commit (both SHA-1 and SHA-256 forms)', async () => {
    for (const commit of ['0'.repeat(40), `000000000000000000000000${claim.commit}`]) {
      const c = { ...claim, commit };
      await expectDenied(verifyZkEvidence(moved(c), c, ctx), 'zk_pairing_failed');
    }
  });
  it('a proof moved to another task', async () => {
    const c = { ...claim, task: 'digits-mlp-2' };
    await expectDenied(verifyZkEvidence(moved(c), c, ctx), 'zk_pairing_failed');
  });
  it('a proof moved to another submitter', async () => {
    const c = { ...claim, submitter: 'ab'.repeat(32) };
    await expectDenied(verifyZkEvidence(moved(c), c, ctx), 'zk_pairing_failed');
    await expectDenied(verifyZkEvidence(evidence, c, ctx), 'zk_binding_submitter');
  });

  it('a public signal plus the field modulus', async () => {
    for (const idx of [3, 5, 9]) await expectDenied(verifyZkEvidence(withSignal(evidence, 0, idx, (v) => v + FIELD_MODULUS), claim, ctx), 'zk_signal_range');
  });

  it('non-canonical numbers are malformed', async () => {
    const e = copy(evidence);
    e.shards[0]!.publicSignals[3] = `0${e.shards[0]!.publicSignals[3]}`;
    await expectDenied(verifyZkEvidence(e, claim, ctx), 'zk_malformed');
    await expectDenied(verifyZkEvidence({ ...evidence, extra: 1 }, claim, ctx), 'zk_malformed');
    await expectDenied(verifyZkEvidence({ ...evidence, shards: new Array(65).fill(evidence.shards[0]) }, claim, ctx), 'zk_malformed');
    await expectDenied(verifyZkEvidence('zk', claim, ctx), 'zk_malformed');
  });

  it('too few or too many public signals', async () => {
    const few = copy(evidence);
    few.shards[0]!.publicSignals.pop();
    await expectDenied(verifyZkEvidence(few, claim, ctx), 'zk_signal_count');
    const many = copy(evidence);
    many.shards[0]!.publicSignals.push('0');
    await expectDenied(verifyZkEvidence(many, claim, ctx), 'zk_signal_count');
  });

  it('a point not on the curve, a coordinate not below q, the point at infinity', async () => {
    const e1 = copy(evidence);
    e1.shards[0]!.proof.pi_a[1] = (BigInt(e1.shards[0]!.proof.pi_a[1]) + 1n).toString();
    await expectDenied(verifyZkEvidence(e1, claim, ctx), 'zk_bad_point');
    const e2 = copy(evidence);
    e2.shards[0]!.proof.pi_c[0] = (BigInt(e2.shards[0]!.proof.pi_c[0]) + BASE_FIELD_MODULUS).toString();
    await expectDenied(verifyZkEvidence(e2, claim, ctx), 'zk_bad_point');
    const e3 = copy(evidence);
    e3.shards[0]!.proof.pi_a = ['0', '0', '1'];
    await expectDenied(verifyZkEvidence(e3, claim, ctx), 'zk_bad_point');
    const e4 = copy(evidence);
    (e4.shards[0]!.proof.pi_a as string[])[2] = '0';
    await expectDenied(verifyZkEvidence(e4, claim, ctx), 'zk_malformed');
  });

  it('a G2 point on the twist but outside the prime-order subgroup', async () => {
    const { Fp2 } = bn254.fields;
    const b = bn254.G2.Point.CURVE().b;
    let pt: { x: { c0: bigint; c1: bigint }; y: { c0: bigint; c1: bigint } } | undefined;
    for (let k = 1n; !pt; k++) {
      const x = Fp2.create({ c0: k, c1: 1n });
      const rhs = Fp2.add(Fp2.mul(Fp2.sqr(x), x), b);
      try {
        pt = { x, y: Fp2.sqrt(rhs) };
      } catch {
        // not a square: try the next x
      }
    }
    const onCurve = Fp2.eql(Fp2.sqr(pt.y), Fp2.add(Fp2.mul(Fp2.sqr(pt.x), pt.x), b));
    expect(onCurve).toBe(true);
    const e = copy(sharded);
    e.shards[1]!.proof.pi_b = [[pt.x.c0.toString(), pt.x.c1.toString()], [pt.y.c0.toString(), pt.y.c1.toString()], ['1', '0']];
    const r = await verifyZkEvidence(e, shardedClaim, sctx);
    expect(r).toMatchObject({ ok: false, reason: 'zk_bad_point' });
    expect(!r.ok && r.message).toMatch(/shards\[1\].pi_b: not in the G2 subgroup/);
  });

  it("a proof made with another circuit's key", async () => {
    const other = loadCircuit('other-key', manifest.circuits['other-key']!.files['other-key.vkey.json']!);
    const item = { proof: otherProof.proof, publicSignals: otherProof.publicSignals.map(BigInt) };
    expect(await verifyGroth16Batch(other, [item])).toEqual({ ok: true });
    expect(await verifyGroth16Batch(task.circuit, [item])).toMatchObject({ ok: false, reason: 'zk_pairing_failed' });
    await expectDenied(verifyZkEvidence({ ...evidence, circuit: 'other-key' }, claim, ctx), 'zk_circuit_mismatch');
  });

  it('a verification key that does not match its pin', async () => {
    const other = readFileSync(new URL('../../circuits/build/other-key/other-key.vkey.json', import.meta.url), 'utf8');
    const swapped = { ...task.circuit, vkeyJson: other };
    await expectDenied(verifyZkEvidence(evidence, claim, { ...ctx, circuit: swapped }), 'zk_vkey_mismatch');
    expect(() => registerCircuit('digits-mlp', other, task.circuit.vkeySha256)).toThrow(/pin/);
  });

  it('a shard missing, counted twice, or from outside the eval set', async () => {
    const [s0, s1] = sharded.shards as [ZkEvidence['shards'][0], ZkEvidence['shards'][0]];
    await expectDenied(verifyZkEvidence({ ...sharded, shards: [s0] }, shardedClaim, sctx), 'zk_shard_coverage');
    await expectDenied(verifyZkEvidence({ ...sharded, shards: [s0, s1, s1] }, shardedClaim, sctx), 'zk_shard_coverage');
    await expectDenied(verifyZkEvidence({ ...sharded, shards: [s0, s0] }, shardedClaim, sctx), 'zk_shard_coverage');
    await expectDenied(verifyZkEvidence({ ...evidence, shards: [evidence.shards[0]!, evidence.shards[0]!] }, claim, ctx), 'zk_shard_coverage');
    const ctx2 = { ...ctx, evalSetCommitment: ctx.evalSetCommitment + 1n };
    await expectDenied(verifyZkEvidence(evidence, claim, ctx2), 'zk_shard_coverage');
  });

  it('a claim with another metric name or value', async () => {
    await expectDenied(verifyZkEvidence(evidence, { ...claim, metric: { name: 'accuracy', value: 56 } }, ctx), 'zk_binding_metric');
    await expectDenied(verifyZkEvidence(evidence, { ...claim, metric: { name: 'correct', value: 57 } }, ctx), 'zk_binding_metric');
  });
});

describe('verifyGroth16Batch', () => {
  it('accepts a batch of valid proofs and names the bad one in a mixed batch', async () => {
    const items = [...evidence.shards, ...sharded.shards].map((s) => ({ proof: s.proof, publicSignals: s.publicSignals.map(BigInt) }));
    const batch = [...items, ...items];
    expect(await verifyGroth16Batch(task.circuit, batch)).toEqual({ ok: true });
    const bad = copy(batch);
    bad[5] = { ...bad[5]!, publicSignals: bad[5]!.publicSignals.map((v, i) => (i === 3 ? v + 1n : v)) };
    expect(await verifyGroth16Batch(task.circuit, bad)).toMatchObject({ ok: false, reason: 'zk_pairing_failed', index: 5 });
  });
});
