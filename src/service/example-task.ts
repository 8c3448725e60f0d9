// The example task registered on first start, so that a fresh `npm start` has a task to show and to submit to. It is
// the task pack in examples/digits/pack, registered as an operator registers any pack (createTask: its files stored
// by digest, its definition a log leaf), with its circuit (verification key pinned by hash) and the eval-set
// commitment from src/zk. Its evaluation split is public (public-eval/): a zk prover scores it and the circuit commits
// to it, so nothing would be gained by hiding it, and anyone can replay a claim of it (recheck --replay).
import { createReadStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { eq } from 'drizzle-orm';
import { circuits, tasks } from '../../db/schema.ts';
import { loadTaskPack, PACK_PARTS, type LoadedPack } from '../attest/task-pack-folder.ts';
import { taskDefinitionSchema } from '../attest/task-pack.ts';
import { DIGITS_CIRCUIT_ID, DIGITS_VKEY_SHA256, loadExampleTask } from '../zk/example-task.ts';
import { createTask } from './actions/tasks.ts';
import { uploadBlob } from './actions/upload-blob.ts';
import type { AppContext } from './context.ts';
import { ServiceError } from './errors.ts';
import { writeAudit } from './storage/audit-trail.ts';
import type { CircuitParams } from './judging/judge-zk.ts';

export const EXAMPLE_TASK_ID = 'digits-mlp';
export const EXAMPLE_PACK_DIR = fileURLToPath(new URL('../../examples/digits/pack/', import.meta.url));

async function loadExamplePack(): Promise<LoadedPack> {
  const loaded = await loadTaskPack(EXAMPLE_PACK_DIR);
  // The pack is committed with the code: a problem here is a broken checkout, not an operator's mistake.
  if (!loaded.ok) throw new Error(`${EXAMPLE_PACK_DIR}: ${loaded.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  return loaded.pack;
}

const examplePack = await loadExamplePack();

/**
 * The example task's definition as registered (task.json with its pack), for tests and tools that register a task
 * like it under another id: its pack's files are in the blob store once the example task is seeded.
 */
export const exampleTask = taskDefinitionSchema.parse(examplePack.definition);

export async function seedExampleTask(ctx: AppContext): Promise<boolean> {
  const zk = await loadExampleTask();
  if (exampleTask.evalSetCommitment !== zk.evalSetCommitment) {
    throw new Error(`examples/digits/pack/task.json names eval-set commitment ${exampleTask.evalSetCommitment}, the committed eval split gives ${zk.evalSetCommitment}`);
  }
  const actor = { kind: 'system', name: 'first-start' } as const;
  const [existing] = await ctx.db.select({ id: tasks.id }).from(tasks).where(eq(tasks.id, EXAMPLE_TASK_ID));
  let created = false;
  if (!existing) {
    // Content-addressed and idempotent: a second process starting on the same database stores the same rows.
    for (const part of PACK_PARTS) for (const f of examplePack.files[part]) await uploadBlob(ctx, f.sha256, createReadStream(f.local));
    // Registered as an operator's task is (createTask): its definition becomes a log leaf, so a re-check proves which
    // policy and pins its verdicts were judged with (src/recheck/task-definition.ts).
    try {
      await createTask(ctx, actor, exampleTask);
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
