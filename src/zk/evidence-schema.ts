// The shape of `zk` evidence as a client sends it, parsed at the edge (STYLE rule 3): one Groth16 proof and its public
// signals per eval shard, in snarkjs's JSON form. Strict, so nothing unchecked rides along, and canonical, so one
// statement has one spelling.
import { z } from 'zod';

const MAX_SHARDS = 64;

// Canonical decimal only: no sign, no leading zeros, at most 78 digits (a value below 2^256). Non-canonical forms
// would give one statement many spellings and so many digests.
export const decimalSchema = z.string().regex(/^(?:0|[1-9][0-9]{0,77})$/, 'canonical decimal string');
const g1Schema = z.tuple([decimalSchema, decimalSchema, z.literal('1')]);
const g2Schema = z.tuple([
  z.tuple([decimalSchema, decimalSchema]),
  z.tuple([decimalSchema, decimalSchema]),
  z.tuple([z.literal('1'), z.literal('0')]),
]);
export const groth16ProofSchema = z
  .object({
    pi_a: g1Schema,
    pi_b: g2Schema,
    pi_c: g1Schema,
    protocol: z.literal('groth16'),
    curve: z.literal('bn128'),
  })
  .strict();
export type Groth16Proof = z.infer<typeof groth16ProofSchema>;

/** Evidence of kind `zk` as sent by a client: one proof per eval shard. */
export const zkEvidenceSchema = z
  .object({
    type: z.literal('zk'),
    circuit: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,63}$/),
    shards: z
      .array(z.object({ proof: groth16ProofSchema, publicSignals: z.array(decimalSchema).max(64) }).strict())
      .min(1)
      .max(MAX_SHARDS),
  })
  .strict();
export type ZkEvidence = z.infer<typeof zkEvidenceSchema>;
