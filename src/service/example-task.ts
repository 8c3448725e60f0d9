// The example task registered on first start, so that a fresh `npm start` has a task to show and to submit to,
// with its circuit (verification key pinned by hash) and the eval-set commitment from src/zk.
import { eq } from 'drizzle-orm';
import { circuits, tasks } from '../../db/schema.ts';
import type { TaskPolicyInput } from '../attest/policy.ts';
import { DIGITS_CIRCUIT_ID, DIGITS_VKEY_SHA256, loadExampleTask } from '../zk/example-task.ts';
import { taskDefinitionSchema } from '../attest/task-pack.ts';
import { createTask } from './actions/tasks.ts';
import type { AppContext } from './context.ts';
import { ServiceError } from './errors.ts';
import { writeAudit } from './storage/audit-trail.ts';
import type { CircuitParams } from './judging/judge-zk.ts';

export const EXAMPLE_TASK_ID = 'digits-mlp';

export const exampleTask = {
  id: EXAMPLE_TASK_ID,
  title: 'Handwritten digits, fixed-point MLP',
  description:
    'Train a small integer MLP on the UCI optical-digits 8x8 training split (examples/digits). ' +
    'The metric is the number of correct predictions on the committed evaluation split; higher is better.',
  metricName: 'correct',
  direction: 'higher' as const,
  // The metric is an exact count computed by a deterministic integer harness, so replays must agree exactly.
  policy: {
    quorum: 2,
    direction: 'higher',
    tolerance: { absolute: 0 },
    runs: 1,
    seeds: [0],
    beatsParent: { test: 'welch-t', alpha: 0.05 },
  } satisfies TaskPolicyInput,
  auditFraction: 0.1,
  // About a second of one core per replay-bound claim here (bench/stamp.ts); doubles each time the queue does.
  stampBaseBits: 18,
  // The commit's tree is mounted read-only at /input; the job writes model.json into /work for the harness to score.
  replay: { harness: 'digits-mlp-v1', train: ['/usr/bin/python3', '/input/train.py', '--seed', '{seed}', '--out', '/work/model.json'] },
};

export async function seedExampleTask(ctx: AppContext): Promise<boolean> {
  const zk = await loadExampleTask();
  const actor = { kind: 'system', name: 'first-start' } as const;
  const [existing] = await ctx.db.select({ id: tasks.id }).from(tasks).where(eq(tasks.id, EXAMPLE_TASK_ID));
  let created = false;
  if (!existing) {
    // Registered as an operator's task is (createTask): its definition becomes a log leaf, so a re-check proves which
    // policy its verdicts were judged with (src/recheck/task-definition.ts).
    try {
      await createTask(ctx, actor, taskDefinitionSchema.parse({ ...exampleTask, evalSetCommitment: zk.evalSetCommitment }));
      created = true;
    } catch (e) {
      // Another process started on the same database and registered it first.
      if (!(e instanceof ServiceError && e.code === 'task_exists')) throw e;
    }
  }
  const params: CircuitParams = { evalSetCommitment: zk.evalSetCommitment, shardCommitments: zk.shardCommitments };
  await ctx.db.transaction(async (tx) => {
    const inserted = await tx
      .insert(circuits)
      .values({ id: zk.circuit.id, taskId: EXAMPLE_TASK_ID, protocol: 'groth16', vkey: zk.circuit.vkeyJson, vkeySha256: zk.circuit.vkeySha256, params })
      .onConflictDoNothing()
      .returning({ id: circuits.id });
    if (inserted.length > 0) await writeAudit(tx, actor, 'circuit.register', `circuit:${zk.circuit.id}`, { vkeySha256: zk.circuit.vkeySha256 }, ctx.now());
  });
  return created;
}

/**
 * The example circuit's key pin in this database when it is not the one this build proves with (a data directory made
 * by an older build, before a new circuit setup); null when it matches or is absent. New proofs cannot verify against
 * the stored key, and the stored one stays: claims already verified with it are part of the log.
 */
export async function staleExampleCircuit(ctx: AppContext): Promise<string | null> {
  const [row] = await ctx.db.select({ vkeySha256: circuits.vkeySha256 }).from(circuits).where(eq(circuits.id, DIGITS_CIRCUIT_ID));
  return row && row.vkeySha256 !== DIGITS_VKEY_SHA256 ? row.vkeySha256 : null;
}
