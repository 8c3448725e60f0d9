// Verifies a claim's `zk` evidence (docs/zk.md, "What verifyZkEvidence checks, in order"): every check on the
// statement runs before any pairing, and the result is a value with a reason code, never a bare boolean. The service
// and a third party's recheck both call verifyZkEvidence; each step lives in its own module of src/zk.
import type { ClaimPayload } from '../attest/claim.ts';
import { firstIssue } from '../attest/validation.ts';
import { vkeyMatchesPin } from './circuit-registration.ts';
import { zkEvidenceSchema, type ZkEvidence } from './evidence-schema.ts';
import { verifyGroth16Batch, type Groth16Checker } from './groth16-batch.ts';
import { findSignalProblem } from './public-signals.ts';
import { findBindingProblem } from './statement-binding.ts';
import { PUBLIC_SIGNALS, statementDigest, statementFromSignals, type Statement } from './statement.ts';
import type { ZkContext } from './zk-context.ts';

export type ZkReason =
  | 'zk_malformed'
  | 'zk_circuit_mismatch'
  | 'zk_vkey_mismatch'
  | 'zk_signal_count'
  | 'zk_signal_range'
  | 'zk_binding_task'
  | 'zk_binding_commit'
  | 'zk_binding_submitter'
  | 'zk_binding_metric'
  | 'zk_binding_weights'
  | 'zk_shard_coverage'
  | 'zk_bad_point'
  | 'zk_pairing_failed';

export type ZkCheck =
  | { ok: true; metric: { name: string; value: number }; weightsCommitment: string; statementDigests: string[] }
  | { ok: false; reason: ZkReason; message: string };

const deny = (reason: ZkReason, message: string): ZkCheck => ({ ok: false, reason, message });

type Parsed = { evidence: ZkEvidence; statements: Statement[]; signals: bigint[][] };

/**
 * All checks that need no pairing, in order: shape and size, circuit id, key pin, signal count and range, then
 * every public signal against the claim and the task.
 */
function checkStatement(untrusted: unknown, claim: ClaimPayload, ctx: ZkContext): Parsed | ZkCheck {
  const shape = zkEvidenceSchema.safeParse(untrusted);
  if (!shape.success) {
    return deny('zk_malformed', firstIssue(shape.error, 'evidence'));
  }
  const ev = shape.data;
  if (ev.circuit !== ctx.circuit.id) return deny('zk_circuit_mismatch', `evidence is for circuit ${ev.circuit}, task uses ${ctx.circuit.id}`);
  // Threat: a verification key swapped in storage or in memory would accept proofs of anything.
  if (!vkeyMatchesPin(ctx.circuit)) return deny('zk_vkey_mismatch', 'verification key does not match its pinned SHA-256');
  if (ctx.circuit.nPublic !== PUBLIC_SIGNALS.length) return deny('zk_vkey_mismatch', 'verification key has a different public-signal layout');

  const signals: bigint[][] = [];
  for (const [i, sh] of ev.shards.entries()) {
    const vals = sh.publicSignals.map((s) => BigInt(s));
    const problem = findSignalProblem(ctx.circuit.nPublic, vals);
    if (problem?.reason === 'zk_signal_count') {
      return deny('zk_signal_count', `shards[${i}]: ${problem.count} public signals, the key expects ${ctx.circuit.nPublic}`);
    }
    if (problem?.reason === 'zk_signal_range') {
      return deny('zk_signal_range', `shards[${i}].publicSignals[${problem.index}] is not below the field modulus`);
    }
    signals.push(vals);
  }
  const statements = signals.map(statementFromSignals);
  const unbound = findBindingProblem(statements, claim, ctx);
  if (unbound) return deny(unbound.reason, unbound.message);
  return { evidence: ev, statements, signals };
}

/**
 * Verifies zk evidence for a claim: statement checks first, then one batched pairing check over all shards (by
 * default this claim's alone; a server passes a cross-claim batcher's check).
 * Returns statementDigests (one per shard) for the store's uniqueness constraint: a re-randomised proof of the
 * same statement has the same digest and must not count again.
 */
export async function verifyZkEvidence(
  untrusted: unknown,
  claim: ClaimPayload,
  ctx: ZkContext,
  checkProofs: Groth16Checker = verifyGroth16Batch,
): Promise<ZkCheck> {
  const st = checkStatement(untrusted, claim, ctx);
  if ('ok' in st) return st;
  const r = await checkProofs(
    ctx.circuit,
    st.evidence.shards.map((s, i) => ({ proof: s.proof, publicSignals: st.signals[i]! })),
  );
  if (!r.ok) return deny(r.reason, r.message);
  return {
    ok: true,
    metric: { name: ctx.metricName, value: claim.metric.value },
    weightsCommitment: st.statements[0]!.weightsCommitment.toString(10),
    statementDigests: st.signals.map((s) => statementDigest(ctx.circuit.id, s)),
  };
}
