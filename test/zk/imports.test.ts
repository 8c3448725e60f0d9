// STYLE rule 5: one typed wrapper around snarkjs, and the pairing library behind one module that pins the curve.
// Every file under src/ is read, so a new import of either (static, dynamic or a type import) fails here.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const src = new URL('../../src/', import.meta.url);
const files = (readdirSync(src, { recursive: true }) as string[]).filter((f) => /\.(ts|tsx|mjs|js)$/.test(f) && !f.endsWith('.d.ts'));

/** Package specifiers a file imports: `from '…'`, `import '…'`, `import('…')`. */
function imported(file: string): string[] {
  const text = readFileSync(new URL(file, src), 'utf8');
  return [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(?\s*)'([^']+)'/g)].map((m) => m[1]!);
}

describe('src/ imports of the zk libraries', () => {
  it.each([
    ['snarkjs', 'zk/snarkjs-wrapper.ts'],
    ['mcl-wasm', 'zk/bn254-mcl.ts'],
  ])('only one module imports %s', (pkg, only) => {
    const importers = files.filter((f) => imported(f).some((s) => s === pkg || s.startsWith(`${pkg}/`)));
    expect(importers).toEqual([only]);
  });
});
