// The public statement of one digits-mlp shard proof: how claim fields become BN254 field elements, in the order
// the circuit exposes them (circom lists outputs first, then public inputs in declaration order).
import { createHash } from 'node:crypto';

/** BN254 scalar field modulus r: public signals are elements of F_r. */
export const FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

export const PUBLIC_SIGNALS = [
  'weightsCommitment',
  'shardCommitment',
  'chainOut',
  'correct',
  'chainIn',
  'task',
  'commitHi',
  'commitLo',
  'commitLen',
  'submitterHi',
  'submitterLo',
] as const;
export type PublicSignalName = (typeof PUBLIC_SIGNALS)[number];
export type Statement = Record<PublicSignalName, bigint>;

const TASK_DOMAIN = 'proofboard.task.v1\0';
const LIMB = 1n << 128n;

function bytesToBigint(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

function hexBytes(hex: string, what: string, lengths: number[]): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/.test(hex) || !lengths.includes(hex.length / 2)) {
    throw new RangeError(`${what}: expected ${lengths.map((n) => n * 2).join(' or ')} lowercase hex characters`);
  }
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

/**
 * A task id as one field element: the first 31 bytes of SHA-256 over a domain tag and the id, so it is below the
 * modulus without reduction and no two ids collide short of a SHA-256 collision.
 */
export function taskToField(task: string): bigint {
  const d = createHash('sha256').update(TASK_DOMAIN + task, 'utf8').digest();
  return bytesToBigint(d.subarray(0, 31));
}

/**
 * A git commit (SHA-1, 20 bytes, or SHA-256, 32 bytes) as big-endian 128-bit limbs of the left-zero-padded 32
 * bytes plus its byte length, so a SHA-1 id never equals a SHA-256 id with leading zeros.
 */
export function commitToFields(commit: string): { commitHi: bigint; commitLo: bigint; commitLen: bigint } {
  const b = hexBytes(commit, 'commit', [20, 32]);
  const padded = new Uint8Array(32);
  padded.set(b, 32 - b.length);
  const v = bytesToBigint(padded);
  return { commitHi: v / LIMB, commitLo: v % LIMB, commitLen: BigInt(b.length) };
}

/** An Ed25519 public key (32 bytes) as two big-endian 128-bit limbs. */
export function submitterToFields(publicKeyHex: string): { submitterHi: bigint; submitterLo: bigint } {
  const v = bytesToBigint(hexBytes(publicKeyHex, 'submitter', [32]));
  return { submitterHi: v / LIMB, submitterLo: v % LIMB };
}

export function statementFromSignals(signals: readonly bigint[]): Statement {
  if (signals.length !== PUBLIC_SIGNALS.length) throw new RangeError('public signals: wrong count');
  return Object.fromEntries(PUBLIC_SIGNALS.map((n, i) => [n, signals[i]!])) as Statement;
}

/**
 * The identity of a proven statement: SHA-256 over the circuit id and the canonical decimal public signals.
 * Groth16 proofs are re-randomisable, so the proof bytes are no identity; a store that keeps these digests unique
 * counts one statement once however many proofs of it are sent.
 */
export function statementDigest(circuitId: string, signals: readonly bigint[]): string {
  const h = createHash('sha256').update(`proofboard.zk-statement.v1\0${circuitId}\0`, 'utf8');
  h.update(signals.map((s) => s.toString(10)).join(','), 'utf8');
  return h.digest('hex');
}
