// The duplicate-key scanner against JSON.parse: on valid JSON written with any member names, any escaping of them,
// any whitespace and any nesting, it finds a duplicate exactly when JSON.parse would have dropped a member.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findDuplicateKey, parseStrictJson } from '../../src/attest/strict-json.ts';
import { utf8 } from '../../src/attest/bytes.ts';

type Node = { kind: 'leaf'; value: unknown } | { kind: 'array'; items: Node[] } | { kind: 'object'; members: [string, Node][] };

// Small name alphabet, so that generated objects often repeat a name; quotes, backslashes and non-ASCII included.
const name = fc.oneof(fc.constantFrom('a', 'b', 'metric', '"', '\\', 'é', '\u{1F600}', ''), fc.string({ maxLength: 3 }));
const { node } = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.jsonValue({ maxDepth: 1 }).map((value): Node => ({ kind: 'leaf', value })),
    fc.array(tie('node'), { maxLength: 4 }).map((items): Node => ({ kind: 'array', items })),
    fc.array(fc.tuple(name, tie('node')), { maxLength: 5 }).map((members): Node => ({ kind: 'object', members })),
  ),
}));

/** A JSON spelling of a name: JSON.stringify's, or every character as a \u escape. */
function spell(s: string, escaped: boolean): string {
  if (!escaped) return JSON.stringify(s);
  return `"${Array.from({ length: s.length }, (_, i) => `\\u${s.charCodeAt(i).toString(16).padStart(4, '0')}`).join('')}"`;
}

function write(n: Node, escape: (i: number) => boolean, ws: string, counter = { i: 0 }): string {
  if (n.kind === 'leaf') return JSON.stringify(n.value);
  if (n.kind === 'array') return `[${ws}${n.items.map((x) => write(x, escape, ws, counter)).join(`${ws},${ws}`)}${ws}]`;
  return `{${ws}${n.members.map(([k, v]) => `${spell(k, escape(counter.i++))}${ws}:${ws}${write(v, escape, ws, counter)}`).join(`${ws},${ws}`)}${ws}}`;
}

/** Whether JSON.parse of the text kept every member: each object has as many keys as members were written. */
function parseKeptEverything(n: Node, parsed: unknown): boolean {
  if (n.kind === 'leaf') return true;
  if (n.kind === 'array') return n.items.every((x, i) => parseKeptEverything(x, (parsed as unknown[])[i]));
  const obj = parsed as Record<string, unknown>;
  if (Object.keys(obj).length !== n.members.length) return false;
  return n.members.every(([k, v]) => parseKeptEverything(v, obj[k]));
}

describe('findDuplicateKey', () => {
  it('finds a duplicate exactly when JSON.parse drops a member', () => {
    fc.assert(
      fc.property(node, fc.func(fc.boolean()), fc.constantFrom('', ' ', '\n\t '), (tree, escape, ws) => {
        const text = write(tree, escape, ws);
        const parsed = JSON.parse(text) as unknown;
        expect(findDuplicateKey(text) === null, text).toBe(parseKeptEverything(tree, parsed));
      }),
      { numRuns: 2000 },
    );
  });

  it('finds none in anything JSON.stringify writes', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => findDuplicateKey(JSON.stringify(v)) === null), { numRuns: 1000 });
    fc.assert(fc.property(fc.jsonValue(), (v) => findDuplicateKey(JSON.stringify(v, null, 2)) === null), { numRuns: 300 });
  });

  it('names the duplicate, compares names after unescaping, and walks 1,000,000 levels without recursion', () => {
    expect(findDuplicateKey('{"metric":1,"metric":2}')).toBe('metric');
    expect(findDuplicateKey('{"commit":"x","\\u0063ommit":"y"}')).toBe('commit');
    expect(findDuplicateKey('{"a":{"b":1},"c":{"b":2}}')).toBeNull();
    expect(findDuplicateKey('{"a":"b","b":"a"}')).toBeNull();
    expect(findDuplicateKey('[{"a":1},{"a":1}]')).toBeNull();
    expect(findDuplicateKey('{"__proto__":1,"__proto__":2}')).toBe('__proto__');
    const deep = `${'{"a":['.repeat(1_000_000)}${']}'.repeat(1_000_000)}`;
    expect(findDuplicateKey(deep)).toBeNull();
    expect(findDuplicateKey(`${'['.repeat(1_000_000)}{"x":1,"x":2}${']'.repeat(1_000_000)}`)).toBe('x');
  });
});

describe('parseStrictJson', () => {
  it('parses what JSON.parse parses when no name repeats, and refuses bad UTF-8, bad JSON and duplicates', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const r = parseStrictJson(utf8(JSON.stringify(v)));
        expect(r).toEqual({ ok: true, value: JSON.parse(JSON.stringify(v)) });
      }),
      { numRuns: 500 },
    );
    expect(parseStrictJson(Uint8Array.of(0x7b, 0xff, 0x7d))).toMatchObject({ ok: false, message: 'payload is not UTF-8 JSON' });
    expect(parseStrictJson(utf8('{"a":'))).toMatchObject({ ok: false });
    expect(parseStrictJson(utf8('{"v":1,"v":1}'))).toEqual({ ok: false, message: 'duplicate key "v" in one object' });
  });
});
