// Zero-knowledge evidence against the circuits the operator registered for the task (never a client's key).
import { and, eq } from 'drizzle-orm';
import { circuits } from '../../../db/schema.ts';
import { firstIssue } from '../../attest/validation.ts';
import { createBatchVerifier, type BatchVerifier } from '../../zk/batch-verifier.ts';
import { createPairingThreads, PairingThreadFault, type PairingThreads } from '../../zk/pairing-thread.ts';
import { registerCircuit, type RegisteredCircuit } from '../../zk/circuit-registration.ts';
import { zkEvidenceSchema } from '../../zk/evidence-schema.ts';
import { verifyGroth16Groups } from '../../zk/groth16-batch.ts';
import { warmUpZk } from '../../zk/groth16-pairing.ts';
import { shutdownZk } from '../../zk/snarkjs-wrapper.ts';
import { verifyZkEvidence } from '../../zk/verify.ts';
import { toZkContext } from '../../zk/zk-context.ts';
import type { ClaimUnderJudgement, EvidenceItem } from './evidence-item.ts';
import type { AppContext } from '../context.ts';
import type { TaskRow } from '../actions/tasks.ts';
import type { ReasonCode } from '../../verdict/verdict.ts';

export type ZkJudgement =
  | { kind: 'verified'; rule: string; statementDigests: string[] }
  | { kind: 'rejected'; reasonCode: ReasonCode; rule: string }
  | { kind: 'uncheckable'; why: string };

/** What the operator registered with a circuit: the task's eval-set layout the proof must cover. */
export type CircuitParams = { evalSetCommitment: string; shardCommitments: string[] };

// Parsed verification keys by (id, pin): parsing and hashing the key once per process keeps it off the hot path.
const prepared = new Map<string, RegisteredCircuit>();

// One pool per process: concurrent intake requests share a pairing check (src/zk/batch-verifier.ts), run on
// pairing threads (src/zk/pairing-thread.ts) unless PROOFBOARD_PAIRING_THREADS is 0. The first context decides.
let batcher: BatchVerifier | undefined;
let threads: PairingThreads | undefined;

function zkBatcher(ctx: AppContext): BatchVerifier {
  if (batcher) return batcher;
  const count = ctx.config.pairingThreads;
  const pool = count > 0 ? (threads = createPairingThreads(count)) : undefined;
  if (!pool) return (batcher = createBatchVerifier());
  // A thread that died is a fault, not a verdict: its claims are checked here instead of failing.
  const verifyGroups: typeof verifyGroth16Groups = (circuit, groups) =>
    pool.verifyGroups(circuit, groups).catch((e: unknown) => {
      if (e instanceof PairingThreadFault) return verifyGroth16Groups(circuit, groups);
      throw e;
    });
  return (batcher = createBatchVerifier({ verifyGroups, maxInFlight: count }));
}

/**
 * Prepares every registered circuit's key and loads the pairing library, so that the first claim does not pay the
 * cold start. A key that no longer matches its pin is reported, not fatal: its claims fail at judgement instead.
 */
export async function warmUpZkJudge(ctx: AppContext, warn: (circuitId: string, err: unknown) => void): Promise<void> {
  for (const row of await ctx.db.select().from(circuits)) {
    try {
      await warmUpZk(preparedCircuit(row));
      zkBatcher(ctx);
      await threads?.warmUp(preparedCircuit(row));
    } catch (err) {
      warn(row.id, err);
    }
  }
}

/** Pooled pairing checks of this process so far, and the claims they covered. */
export function zkPoolStats(): { checks: number; claims: number } {
  return batcher?.stats() ?? { checks: 0, claims: 0 };
}

/** Checks what is pooled, stops pooling and lets the process exit (no timer or worker thread left behind). */
export async function closeZkJudge(): Promise<void> {
  const [b, t] = [batcher, threads];
  batcher = undefined;
  threads = undefined;
  await b?.close();
  await t?.close();
  await shutdownZk();
}

function preparedCircuit(row: Pick<typeof circuits.$inferSelect, 'id' | 'vkey' | 'vkeySha256'>): RegisteredCircuit {
  const cacheKey = `${row.id}:${row.vkeySha256}`;
  let circuit = prepared.get(cacheKey);
  if (!circuit) {
    // Throws when the stored key no longer matches its pin: a swapped key is a fault to report, not a verdict.
    circuit = registerCircuit(row.id, row.vkey, row.vkeySha256);
    prepared.set(cacheKey, circuit);
  }
  return circuit;
}

/** What the intake already read of a task's circuits (no key text): enough to find a prepared key by its pin. */
export type CircuitHead = { id: string; vkeySha256: string; params: unknown };

/**
 * The circuit a proof names, registered for the task, with its prepared key. With the task's circuit heads (read with
 * the intake's other facts) a key prepared before is found by its pin without a query; the key text is read only for
 * a pin not seen yet.
 */
async function circuitFor(
  ctx: AppContext,
  taskId: string,
  circuitId: string,
  known?: readonly CircuitHead[],
): Promise<{ circuit: RegisteredCircuit; params: CircuitParams } | undefined> {
  if (known) {
    const head = known.find((c) => c.id === circuitId);
    if (!head) return undefined;
    const ready = prepared.get(`${head.id}:${head.vkeySha256}`);
    if (ready) return { circuit: ready, params: head.params as CircuitParams };
  }
  const [row] = await ctx.db
    .select({ id: circuits.id, vkey: circuits.vkey, vkeySha256: circuits.vkeySha256, params: circuits.params })
    .from(circuits)
    .where(and(eq(circuits.id, circuitId), eq(circuits.taskId, taskId)));
  return row && { circuit: preparedCircuit(row), params: row.params as CircuitParams };
}

export async function judgeZkEvidence(
  ctx: AppContext,
  task: TaskRow,
  claim: ClaimUnderJudgement,
  item: EvidenceItem,
  known?: readonly CircuitHead[],
): Promise<ZkJudgement> {
  const shape = zkEvidenceSchema.safeParse(item);
  if (!shape.success) {
    return { kind: 'rejected', reasonCode: 'zk_malformed', rule: `zk evidence malformed at ${firstIssue(shape.error, 'evidence')}` };
  }
  const found = await circuitFor(ctx, task.id, shape.data.circuit, known);
  // A proof for a circuit nobody registered cannot be checked cheaply; it is not false either: replay decides.
  if (!found) return { kind: 'uncheckable', why: `circuit ${shape.data.circuit} is not registered for task ${task.id}` };
  const { circuit, params } = found;
  const zkContext = toZkContext(circuit, task.metricName, params);
  // Statement checks run per claim first; only the pairing check is pooled with concurrent claims.
  const check = await verifyZkEvidence(item, claim, zkContext, zkBatcher(ctx).verify);
  if (!check.ok) return { kind: 'rejected', reasonCode: check.reason, rule: `groth16 proof rejected: ${check.message}` };
  return {
    kind: 'verified',
    rule: `groth16 proof over ${params.shardCommitments.length} shard(s) of circuit ${circuit.id} (vkey sha256:${circuit.vkeySha256.slice(0, 16)}…)`,
    statementDigests: check.statementDigests,
  };
}
