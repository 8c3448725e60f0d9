// The digest of an evidence item, which verdicts name and a re-check recomputes: SHA-256 of its canonical JSON.
import { createHash } from 'node:crypto';

/** JSON with object keys sorted and undefined members dropped: one digest per evidence value. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function evidenceDigest(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}
