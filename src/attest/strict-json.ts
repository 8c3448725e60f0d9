// Strict JSON for signed payloads. JSON.parse keeps the last of two members with one name (ECMA-262 JSON.parse; RFC
// 8259 §4 leaves duplicates to the parser), and other parsers keep the first or refuse: a payload signed as
// {"metric":A,"metric":B} would then mean B here and A to someone else's verifier, one signature over two claims.
// Signed payloads whose objects name a member twice are refused, as I-JSON requires (RFC 7493 §2.3).

export type StrictJson = { ok: true; value: unknown } | { ok: false; message: string };

/**
 * Parses the exact signed bytes: strict UTF-8, JSON, then no object with a member name twice (names compared after
 * unescaping, so "\u0063ommit" and "commit" are one name).
 */
export function parseStrictJson(bytes: Uint8Array): StrictJson {
  let text: string;
  let value: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    value = JSON.parse(text);
  } catch {
    return { ok: false, message: 'payload is not UTF-8 JSON' };
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== null) return { ok: false, message: `duplicate key ${JSON.stringify(duplicate)} in one object` };
  return { ok: true, value };
}

/**
 * The first member name that occurs twice in one object of `text`, or null. `text` must be valid JSON (parse it
 * first): the scanner only tracks strings, brackets and commas. One pass with an explicit stack, so nesting depth
 * costs memory, never the call stack.
 */
export function findDuplicateKey(text: string): string | null {
  // One entry per open container: the names seen so far for an object, null for an array.
  const open: (Set<string> | null)[] = [];
  let expectingName = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let end = i + 1;
      while (text.charCodeAt(end) !== 0x22) end += text.charCodeAt(end) === 0x5c /* \ */ ? 2 : 1;
      const names = open.at(-1);
      if (expectingName && names) {
        const name = JSON.parse(text.slice(i, end + 1)) as string;
        if (names.has(name)) return name;
        names.add(name);
        expectingName = false;
      }
      i = end;
    } else if (c === 0x7b /* { */) {
      open.push(new Set());
      expectingName = true;
    } else if (c === 0x5b /* [ */) {
      open.push(null);
      expectingName = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      open.pop();
      expectingName = false;
    } else if (c === 0x2c /* , */) {
      expectingName = open.at(-1) != null;
    }
  }
  return null;
}
