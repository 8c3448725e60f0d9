// Circuits registered by the operator through the API for a task: the key pinned by hash and checked as a usable
// Groth16 key, the prover's files required to be stored by digest, a log leaf with every pin, and an audit row, in one
// transaction.
import { and, eq, inArray } from 'drizzle-orm';
import { blobs, circuits } from '../../../db/schema.ts';
import { utf8 } from '../../attest/bytes.ts';
import type { Problem } from '../../attest/task-pack.ts';
import { registerCircuit } from '../../zk/circuit-registration.ts';
import { circuitLeafText, type CircuitRegistration } from '../../zk/circuit-build.ts';
import type { AppContext } from '../context.ts';
import { ServiceError } from '../errors.ts';
import { writeAudit, type Operator } from '../storage/audit-trail.ts';
import { appendLogLeaves } from '../storage/log-append.ts';
import { getTask } from './tasks.ts';

export async function registerTaskCircuit(ctx: AppContext, actor: Operator, taskId: string, input: CircuitRegistration) {
  const task = await getTask(ctx, taskId);
  try {
    // Threat: a key that parses but cannot verify soundly (γ = ±δ, points off the curve) would accept forged proofs.
    registerCircuit(input.id, input.vkey, input.vkeySha256);
  } catch (e) {
    throw new ServiceError('bad_request', `vkey: not a usable Groth16 BN254 verification key (${e instanceof Error ? e.message : String(e)})`);
  }
  const problems = await buildProblems(ctx, input);
  // Proofs of the task must be about its evaluation set, not one the circuit's registrant chose.
  if (task.evalSetCommitment !== null && input.params.evalSetCommitment !== task.evalSetCommitment) {
    problems.push({ path: 'params.evalSetCommitment', message: `must be the task's eval-set commitment (${task.evalSetCommitment})` });
  }
  if (problems.length > 0) throw new ServiceError('bad_task', `the circuit's build has ${problems.length} problem(s)`, { problems });
  return ctx.db.transaction(async (tx) => {
    const now = ctx.now();
    const { vkey, ...pins } = input;
    const inserted = await tx
      .insert(circuits)
      .values({ id: input.id, taskId: task.id, protocol: input.protocol, vkey, vkeySha256: input.vkeySha256, params: input.params, build: input.build, createdAt: now })
      .onConflictDoNothing()
      .returning({ id: circuits.id });
    if (inserted.length === 0) throw new ServiceError('conflict', `circuit ${input.id} already exists`);
    const [index] = await appendLogLeaves(ctx, tx, [{ data: utf8(circuitLeafText(task.id, pins, now.toISOString())), claimId: '' }]);
    await tx.update(circuits).set({ logIndex: index! }).where(and(eq(circuits.id, input.id), eq(circuits.taskId, task.id)));
    await writeAudit(tx, actor, 'circuit.register', `circuit:${input.id}`, { task: task.id, ...pins, logIndex: index }, now);
    return { id: input.id, task: task.id, vkeySha256: input.vkeySha256, build: input.build, logIndex: index! };
  });
}

/** Each build file not stored, or stored with another size: a prover could never fetch it as pinned. */
async function buildProblems(ctx: AppContext, input: CircuitRegistration): Promise<Problem[]> {
  const files = Object.entries(input.build);
  const rows = await ctx.db.select({ sha256: blobs.sha256, size: blobs.size }).from(blobs).where(inArray(blobs.sha256, files.map(([, f]) => f.sha256)));
  const sizes = new Map(rows.map((r) => [r.sha256, r.size]));
  const problems: Problem[] = [];
  for (const [name, f] of files) {
    const size = sizes.get(f.sha256);
    if (size === undefined) problems.push({ path: `build.${name}`, message: `sha256:${f.sha256} is not uploaded` });
    else if (size !== f.bytes) problems.push({ path: `build.${name}`, message: `the stored blob has ${size} bytes, the registration says ${f.bytes}` });
  }
  return problems;
}
