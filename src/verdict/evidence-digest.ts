// The digest of an evidence item, which verdicts name and a re-check recomputes: SHA-256 of its canonical JSON.
import { createHash } from 'node:crypto';

/** Text written as it is, between the values still to be written. */
class Raw {
  constructor(readonly text: string) {}
}
const COMMA = new Raw(',');
const CLOSE_ARRAY = new Raw(']');
const CLOSE_OBJECT = new Raw('}');

/**
 * JSON with object keys sorted and undefined members dropped: one digest per evidence value. Iterative, with its own
 * stack: evidence is client JSON, and a value nested thousands deep would overflow the call stack of a recursive walk
 * (a 500 instead of a refusal).
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  // Values still to write, the next one last: containers push their parts in reverse.
  const todo: unknown[] = [value];
  while (todo.length > 0) {
    const next = todo.pop();
    if (next instanceof Raw) {
      out.push(next.text);
    } else if (Array.isArray(next)) {
      out.push('[');
      todo.push(CLOSE_ARRAY);
      for (let i = next.length - 1; i >= 0; i--) {
        todo.push(next[i]);
        if (i > 0) todo.push(COMMA);
      }
    } else if (next && typeof next === 'object') {
      const entries = Object.entries(next as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      out.push('{');
      todo.push(CLOSE_OBJECT);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, v] = entries[i]!;
        todo.push(v, new Raw(`${JSON.stringify(k)}:`));
        if (i > 0) todo.push(COMMA);
      }
    } else {
      // An undefined array element writes nothing, as Array.prototype.join does; JSON input never holds one.
      out.push(JSON.stringify(next) ?? '');
    }
  }
  return out.join('');
}

export function evidenceDigest(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}
