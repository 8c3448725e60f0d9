// The one place proofboard signs and verifies Ed25519. The verification mode is pinned here for every caller.
import { ed25519 } from '@noble/curves/ed25519.js';

export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SECRET_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

/**
 * Verification modes. `strict` (RFC 8032 §5.1.7 with canonical encodings, cofactorless) is what proofboard uses:
 * it rejects non-canonical points and S >= L, so one message has one valid signature encoding per key and a
 * signature cannot be mauled into a second "different" one that would count twice. `zip215` (ZIP-215 rules,
 * cofactored, accepts non-canonical encodings) exists only so tests can show the two modes differ.
 */
export type Ed25519Mode = 'strict' | 'zip215';

export function verifyEd25519(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
  mode: Ed25519Mode,
): boolean {
  if (signature.length !== ED25519_SIGNATURE_BYTES || publicKey.length !== ED25519_PUBLIC_KEY_BYTES) return false;
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: mode === 'zip215' });
  } catch {
    // noble throws on malformed points; for an untrusted signature that is simply "does not verify".
    return false;
  }
}

export function signEd25519(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return ed25519.sign(message, secretKey);
}

export function generateEd25519Key(): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const secretKey = ed25519.utils.randomSecretKey();
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) };
}

export function ed25519PublicKey(secretKey: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(secretKey);
}
