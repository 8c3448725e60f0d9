// Strict encodings for untrusted input. Every decoder names the field it checks, so an error says what was wrong.

const HEX_RE = /^[0-9a-f]*$/;
// Standard alphabet with padding only: a second accepted spelling of the same bytes would let one signature
// or digest appear under two encodings (DSSE allows both alphabets; we accept one and say so in docs/).
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export class EncodingError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'EncodingError';
  }
}

export function fromHex(hex: string, field: string, byteLength?: number): Uint8Array {
  if (!HEX_RE.test(hex) || hex.length % 2 !== 0) throw new EncodingError(field, 'expected lowercase hex');
  if (byteLength !== undefined && hex.length !== byteLength * 2) {
    throw new EncodingError(field, `expected ${byteLength} bytes, got ${hex.length / 2}`);
  }
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromBase64(b64: string, field: string): Uint8Array {
  if (!BASE64_RE.test(b64)) throw new EncodingError(field, 'expected canonical standard base64');
  const bytes = Uint8Array.from(Buffer.from(b64, 'base64'));
  // Reject non-zero padding bits: they give a second spelling of the same bytes.
  if (toBase64(bytes) !== b64) throw new EncodingError(field, 'non-canonical base64');
  return bytes;
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
