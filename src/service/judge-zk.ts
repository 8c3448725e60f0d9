// Zero-knowledge evidence against the circuits the operator registered for the task (never a client's key).
import { and, eq } from 'drizzle-orm';
import { circuits } from '../../db/schema.ts';
import { registerCircuit, verifyZkEvidence, zkEvidenceSchema, type RegisteredCircuit } from '../zk/verify.ts';
import type { AppContext } from './context.ts';
import type { TaskRow } from './tasks.ts';
import type { ClaimUnderJudgement, EvidenceItem } from './judge-evidence.ts';

export type ZkJudgement =
  | { kind: 'verified'; rule: string; statementDigests: string[] }
  | { kind: 'rejected'; reasonCode: string; rule: string }
  | { kind: 'uncheckable'; why: string };

/** What the operator registered with a circuit: the task's eval-set layout the proof must cover. */
export type CircuitParams = { evalSetCommitment: string; shardCommitments: string[] };

// Parsed verification keys by (id, pin): parsing and hashing the key once per process keeps it off the hot path.
const prepared = new Map<string, RegisteredCircuit>();

function preparedCircuit(row: typeof circuits.$inferSelect): RegisteredCircuit {
  const cacheKey = `${row.id}:${row.vkeySha256}`;
  let circuit = prepared.get(cacheKey);
  if (!circuit) {
    // Throws when the stored key no longer matches its pin: a swapped key is a fault to report, not a verdict.
    circuit = registerCircuit(row.id, row.vkey, row.vkeySha256);
    prepared.set(cacheKey, circuit);
  }
  return circuit;
}

export async function judgeZkEvidence(
  ctx: AppContext,
  task: TaskRow,
  claim: ClaimUnderJudgement,
  item: EvidenceItem,
): Promise<ZkJudgement> {
  const shape = zkEvidenceSchema.safeParse(item);
  if (!shape.success) {
    const issue = shape.error.issues[0];
    return { kind: 'rejected', reasonCode: 'zk_malformed', rule: `zk evidence malformed at ${issue?.path.join('.') || 'evidence'}: ${issue?.message}` };
  }
  const [row] = await ctx.db
    .select()
    .from(circuits)
    .where(and(eq(circuits.id, shape.data.circuit), eq(circuits.taskId, task.id)));
  // A proof for a circuit nobody registered cannot be checked cheaply; it is not false either: replay decides.
  if (!row) return { kind: 'uncheckable', why: `circuit ${shape.data.circuit} is not registered for task ${task.id}` };
  const params = row.params as CircuitParams;
  const check = await verifyZkEvidence(item, claim, {
    circuit: preparedCircuit(row),
    metricName: task.metricName,
    evalSetCommitment: BigInt(params.evalSetCommitment),
    shardCommitments: params.shardCommitments.map((c) => BigInt(c)),
  });
  if (!check.ok) return { kind: 'rejected', reasonCode: check.reason, rule: `groth16 proof rejected: ${check.message}` };
  return {
    kind: 'verified',
    rule: `groth16 proof over ${params.shardCommitments.length} shard(s) of circuit ${row.id} (vkey sha256:${row.vkeySha256.slice(0, 16)}…)`,
    statementDigests: check.statementDigests,
  };
}
