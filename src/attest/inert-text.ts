// Text that came from an untrusted party (a job's stderr, a worker's failure message, a server's answer) made inert
// before it is stored, logged or printed. A terminal escape (ESC [ 2 J, OSC 8 links, a title change) or a carriage
// return in a verdict's rule would repaint a reader's terminal or forge lines in `recheck`'s report; a bidirectional
// override reorders what a web page or editor shows ("Trojan Source", CVE-2021-42574); U+0000 and lone surrogates
// cannot be stored by PostgreSQL at all. Each is written as a visible escape instead, so nothing is lost.

// C0 controls and DEL, C1 controls, the bidi embeddings, overrides and isolates, and UTF-16 halves without a partner.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `text` with every control, bidi and lone-surrogate code unit written as `\uXXXX`: printable, and storable. */
export function toInertText(text: string): string {
  return text.replace(UNSAFE, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** True when `text` needs no escaping (what toInertText returns unchanged). */
export function isInertText(text: string): boolean {
  UNSAFE.lastIndex = 0;
  const found = UNSAFE.test(text);
  UNSAFE.lastIndex = 0;
  return !found;
}
