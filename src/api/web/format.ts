// Small, pure formatting helpers for the pages. Everything they return is plain text: escaping is left to JSX.

/** A public key as a person compares it: first 8 and last 4 hex characters. */
export function shortKey(hex: string): string {
  return hex.length > 16 ? `${hex.slice(0, 8)}…${hex.slice(-4)}` : hex;
}

export function shortCommit(commit: string): string {
  return commit.slice(0, 10);
}

export function shortId(id: string): string {
  return id.slice(0, 12);
}

/** Metrics print as the shortest text that round-trips, capped at 6 significant digits for the eye. */
export function formatMetric(value: number): string {
  if (Number.isInteger(value)) return String(value);
  const p = Number(value.toPrecision(6));
  return String(p);
}

export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${String(m % 60).padStart(2, '0')}m`;
}

/** A UTC timestamp without seconds noise: "2026-11-27 08:00 UTC". */
export function formatTime(iso: string | Date): string {
  const d = typeof iso === 'string' ? new Date(iso) : iso;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
