// A circuit as the operator registers it through the API for a task (POST /v1/tasks/{id}/circuits): its verification
// key as exact text pinned by SHA-256, the eval-set layout the proofs must match, and what a prover needs (witness
// generator, proving key, the evaluation rows) as blobs pinned by SHA-256. `proofboard prove --task T` fetches these
// by digest and checks them before proving, so proving for a new task needs no repository change. Pure.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { decimalSchema } from './evidence-schema.ts';

const sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex (SHA-256)');
/** 256 MiB: the Groth16 proving keys this project commits are a few MiB (FACTS.md: ~500 bytes per constraint). */
const MAX_BUILD_FILE_BYTES = 256 * 1024 ** 2;
const buildFileSchema = z.object({ sha256: sha256HexSchema, bytes: z.number().int().min(1).max(MAX_BUILD_FILE_BYTES) }).strict();

export const circuitBuildSchema = z
  .object({
    /** The witness generator circom wrote (`.wasm`). */
    wasm: buildFileSchema,
    /** The Groth16 proving key (`.zkey`). */
    zkey: buildFileSchema,
    /** The evaluation rows the circuit scores (CSV, as src/zk/reference-evaluator.ts parses it): public for a zk task. */
    evalData: buildFileSchema,
  })
  .strict();
export type CircuitBuild = z.infer<typeof circuitBuildSchema>;

export const circuitRegistrationSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'circuit id: a-z, 0-9, -'),
    protocol: z.literal('groth16'),
    /** The verification key JSON exactly as `snarkjs zkey export verificationkey` wrote it. */
    vkey: z.string().min(2).max(1 << 20),
    /** The pin: SHA-256 of vkey's bytes, stated by the operator and checked against them. */
    vkeySha256: sha256HexSchema,
    params: z.object({ evalSetCommitment: decimalSchema, shardCommitments: z.array(decimalSchema).min(1).max(1024) }).strict(),
    build: circuitBuildSchema,
  })
  .strict()
  .refine((c) => createHash('sha256').update(c.vkey).digest('hex') === c.vkeySha256, { message: 'is not the SHA-256 of vkey', path: ['vkeySha256'] });
export type CircuitRegistration = z.infer<typeof circuitRegistrationSchema>;

/** The log leaf of a circuit registration: every pin, so a proof's verdict names the key and files it was checked with. */
export function circuitLeafText(taskId: string, c: Omit<CircuitRegistration, 'vkey'>, registeredAt: string): string {
  return JSON.stringify({
    v: 1,
    kind: 'circuit-registration',
    task: taskId,
    circuit: c.id,
    protocol: c.protocol,
    vkeySha256: c.vkeySha256,
    params: c.params,
    build: { wasm: c.build.wasm, zkey: c.build.zkey, evalData: c.build.evalData },
    registeredAt,
  });
}
