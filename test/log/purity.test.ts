// src/log is a pure library (DESIGN.md "Layout"): a third party's recheck runs it without the server's code.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const dir = new URL('../../src/log/', import.meta.url);
const ALLOWED = [/^node:crypto$/, /^@noble\//, /^\.\/[a-z0-9-]+\.ts$/, /^\.\.\/attest\/(bytes|ed25519)\.ts$/];

describe('src/log imports', () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    it(`${file} imports nothing with I/O`, () => {
      const source = readFileSync(new URL(file, dir), 'utf8');
      const specifiers = [...source.matchAll(/^(?:import|export)[^'"]*from\s+'([^']+)'/gm)].map((m) => m[1]!);
      for (const s of specifiers) expect(ALLOWED.some((re) => re.test(s)), `${file} imports ${s}`).toBe(true);
    });
  }
});
