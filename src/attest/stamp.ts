// Hashcash-style proof-of-work stamps: a claim that would cost the service a replay must carry work of its own.
// The stamp is bound to the claim id (the SHA-256 of the signed claim payload), so it cannot be moved to another claim,
// and checking it costs one hash.
import { createHash } from 'node:crypto';
import { z } from 'zod';

const DOMAIN = 'proofboard-stamp-v1';
export const MAX_STAMP_BITS = 64;

export const stampSchema = z.object({ nonce: z.string().regex(/^[0-9a-f]{1,64}$/, 'nonce: 1 to 64 lowercase hex') }).strict();
export type Stamp = z.infer<typeof stampSchema>;

/** SHA-256("proofboard-stamp-v1" 0x0A claimId 0x0A nonce): the domain string keeps these hashes from meaning anything else. */
export function stampHash(claimId: string, nonce: string): Buffer {
  return createHash('sha256').update(`${DOMAIN}\n${claimId}\n${nonce}`).digest();
}

export function leadingZeroBits(bytes: Uint8Array): number {
  let bits = 0;
  for (const b of bytes) {
    if (b === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(b) - 24;
  }
  return bits;
}

/** The work a stamp carries for a claim: its hash's leading zero bits. */
export function stampBits(claimId: string, stamp: Stamp): number {
  return leadingZeroBits(stampHash(claimId, stamp.nonce));
}

export type StampCheck = { ok: true; bits: number } | { ok: false; reason: 'stamp_too_weak'; bits: number; required: number };

export function verifyStamp(claimId: string, stamp: Stamp, requiredBits: number): StampCheck {
  const bits = stampBits(claimId, stamp);
  return bits >= requiredBits ? { ok: true, bits } : { ok: false, reason: 'stamp_too_weak', bits, required: requiredBits };
}

/**
 * Finds a nonce with at least `bits` leading zero bits. Expected work is 2^bits hashes. `onProgress` is called every
 * `every` attempts so a CLI can show a bar and an estimate; the search is synchronous by design (one core, no workers).
 */
export function mineStamp(
  claimId: string,
  bits: number,
  onProgress?: (attempts: number) => void,
  every = 65_536,
): { stamp: Stamp; attempts: number } {
  if (!Number.isInteger(bits) || bits < 0 || bits > MAX_STAMP_BITS) throw new RangeError(`bits must be 0..${MAX_STAMP_BITS}`);
  // The prefix is hashed once; each attempt copies that state and hashes only the nonce.
  const prefix = createHash('sha256').update(`${DOMAIN}\n${claimId}\n`);
  for (let n = 0; ; n++) {
    const nonce = n.toString(16);
    if (leadingZeroBits(prefix.copy().update(nonce).digest()) >= bits) return { stamp: { nonce }, attempts: n + 1 };
    if (onProgress && (n + 1) % every === 0) onProgress(n + 1);
  }
}
