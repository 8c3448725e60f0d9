// The one place proofboard signs and verifies Ed25519. The verification mode is pinned here for every caller.
//
// Strict verification runs on node:crypto (OpenSSL, ~0.1 ms) rather than @noble/curves (~1.5 ms): it is on the
// intake path of every claim and every note/checkpoint signature. OpenSSL is not trusted to define `strict`, though.
// noble's `zip215: false` is the reference, and the encoding rules are checked here on the bytes before OpenSSL
// runs, so they hold whatever OpenSSL's version enforces. Signing is deterministic (RFC 8032 §5.1.6), so node:crypto
// and noble produce the same bytes.
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { toHex } from './bytes.ts';

export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SECRET_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

/**
 * Verification modes. `strict` is noble's `zip215: false` (RFC 8032 §5.1.7 with canonical encodings): it rejects
 * S >= L and non-canonical or undecodable points, so one message has one valid signature encoding per key and a
 * signature cannot be mauled into a second "different" one that would count twice; it also rejects small-order
 * public keys, for which one signature verifies many messages. Its equation is the cofactored one ([8]SB = [8]R +
 * [8]kA), as noble computes it. `zip215` (ZIP-215 rules, cofactored, accepts non-canonical encodings) exists only so
 * tests can show the two modes differ.
 */
export type Ed25519Mode = 'strict' | 'zip215';

const { p: P, n: L, d: D } = ed25519.Point.CURVE();
const P_LE = toLe32(P);
const L_LE = toLe32(L);
const KEY_CACHE_ENTRIES = 1024;
// PKCS#8 PrivateKeyInfo for Ed25519 (RFC 8410 §7) up to the 32-byte seed.
const PKCS8_ED25519_SEED_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

// Public keys verify again and again (a submitter's claims, the log's own checkpoints): decoding A, its small-order
// test and OpenSSL's key import run once per key. null caches a key that strict verification rejects.
const publicKeys = new Map<string, KeyObject | null>();
const secretKeys = new Map<string, KeyObject>();

export function verifyEd25519(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
  mode: Ed25519Mode,
): boolean {
  if (signature.length !== ED25519_SIGNATURE_BYTES || publicKey.length !== ED25519_PUBLIC_KEY_BYTES) return false;
  if (mode === 'zip215') return verifyWithNoble(signature, message, publicKey, true);
  // S >= L: S + L verifies wherever S does, a second encoding of the same signature (malleability).
  if (!isBelowLittleEndian(signature.subarray(32), L_LE)) return false;
  // R must be the canonical encoding of a curve point, as noble decodes it: a second encoding of R would be a second
  // signature. Checked here rather than left to how OpenSSL compares R.
  if (!isCanonicalEd25519Point(signature.subarray(0, 32))) return false;
  const key = strictPublicKey(publicKey);
  if (key === null) return false;
  // OpenSSL accepts iff [S]B - [k]A encodes to R exactly (cofactorless). With the checks above, that implies noble
  // strict accepts too. The converse fails only for R or A with a small-order component, which the cofactored
  // equation forgives and OpenSSL does not (speccheck cases 4 and 5): a rejection is decided by noble, the reference.
  if (verify(null, message, key, signature)) return true;
  return verifyWithNoble(signature, message, publicKey, false);
}

export function signEd25519(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  if (secretKey.length !== ED25519_SECRET_KEY_BYTES) {
    throw new RangeError(`"secretKey" expected ${ED25519_SECRET_KEY_BYTES} bytes, got ${secretKey.length}`);
  }
  return new Uint8Array(sign(null, message, privateKeyObject(secretKey)));
}

export function generateEd25519Key(): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const secretKey = ed25519.utils.randomSecretKey();
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) };
}

export function ed25519PublicKey(secretKey: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(secretKey);
}

/**
 * Whether `bytes` is the canonical encoding of a point on Ed25519, exactly as noble decodes with `zip215: false`
 * (RFC 8032 §5.1.3): y < p, not x = 0 with the sign bit set, and (y² - 1) / (d·y² + 1) a square mod p. It does not
 * compute x: the square test is a Jacobi symbol, a third of the cost of a decompression.
 */
export function isCanonicalEd25519Point(bytes: Uint8Array): boolean {
  if (bytes.length !== 32 || !hasCanonicalY(bytes) || isSignedZeroX(bytes)) return false;
  const y = yOf(bytes);
  const y2 = (y * y) % P;
  const u = (y2 - 1n + P) % P;
  const v = (D * y2 + 1n) % P;
  // v is never 0: -1/d is not a square mod p. u = 0 (x = 0) is a valid point.
  return jacobi((u * v) % P, P) !== -1;
}

function verifyWithNoble(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array, zip215: boolean): boolean {
  try {
    return ed25519.verify(signature, message, publicKey, { zip215 });
  } catch {
    // noble throws on malformed points; for an untrusted signature that is simply "does not verify".
    return false;
  }
}

function strictPublicKey(publicKey: Uint8Array): KeyObject | null {
  const id = toHex(publicKey);
  const cached = publicKeys.get(id);
  if (cached !== undefined) return cached;
  let key: KeyObject | null = null;
  // Non-canonical A: a second encoding of one key would hash to a different k (RFC 8032 §5.1.7 decodes strictly).
  // Small-order A: one signature with S = 0 and small-order R verifies for many messages (speccheck cases 0 and 1),
  // which OpenSSL accepts and noble strict does not.
  if (hasCanonicalY(publicKey) && !isSignedZeroX(publicKey)) {
    try {
      if (!ed25519.Point.fromBytes(publicKey, false).isSmallOrder()) {
        key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') }, format: 'jwk' });
      }
    } catch {
      // not on the curve: rejected like any malformed key
    }
  }
  if (publicKeys.size >= KEY_CACHE_ENTRIES) publicKeys.clear();
  publicKeys.set(id, key);
  return key;
}

function privateKeyObject(seed: Uint8Array): KeyObject {
  // Keyed by the seed's content, not the array: a caller that overwrites its array in place must not sign with the
  // old key.
  const id = toHex(seed);
  let key = secretKeys.get(id);
  if (key === undefined) {
    key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_SEED_PREFIX, seed]), format: 'der', type: 'pkcs8' });
    if (secretKeys.size >= KEY_CACHE_ENTRIES) secretKeys.clear();
    secretKeys.set(id, key);
  }
  return key;
}

// y < p, with the sign bit masked off (RFC 8032 §5.1.3 step 1). A y in [p, 2^255) is a second encoding of y - p.
function hasCanonicalY(bytes: Uint8Array): boolean {
  const top = bytes[31]! & 0x7f;
  if (top !== P_LE[31]) return top < P_LE[31]!;
  return isBelowLittleEndian(bytes.subarray(0, 31), P_LE.subarray(0, 31));
}

// x = 0 exactly when y² = 1, i.e. y = 1 or y = p - 1; with the sign bit set that is a second encoding of the same
// point (RFC 8032 §5.1.3 step 4). Assumes y < p.
function isSignedZeroX(bytes: Uint8Array): boolean {
  if ((bytes[31]! & 0x80) === 0) return false;
  const y = yOf(bytes);
  return y === 1n || y === P - 1n;
}

function isBelowLittleEndian(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = a.length - 1; i >= 0; i--) {
    if (a[i] !== b[i]) return a[i]! < b[i]!;
  }
  return false;
}

function yOf(bytes: Uint8Array): bigint {
  const be = Buffer.from(bytes).reverse();
  be[0]! &= 0x7f;
  return BigInt('0x' + be.toString('hex'));
}

function toLe32(x: bigint): Uint8Array {
  return Uint8Array.from(Buffer.from(x.toString(16).padStart(64, '0'), 'hex').reverse());
}

// Jacobi symbol (a/n) for odd n > 0; for prime n it is the Legendre symbol: 1 for a nonzero square, -1 for a
// non-square, 0 for a ≡ 0.
function jacobi(a: bigint, n: bigint): number {
  let t = 1;
  a %= n;
  while (a !== 0n) {
    let twos = 0;
    while ((a & 1n) === 0n) {
      a >>= 1n;
      twos++;
    }
    if ((twos & 1) === 1 && ((n & 7n) === 3n || (n & 7n) === 5n)) t = -t;
    [a, n] = [n, a];
    if ((a & 3n) === 3n && (n & 3n) === 3n) t = -t;
    a %= n;
  }
  return n === 1n ? t : 0;
}
