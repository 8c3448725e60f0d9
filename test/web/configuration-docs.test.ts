// One documented list of settings: every environment variable the code reads is named in docs/configuration.md, and
// every one the service or CLI reads is in the README's table too.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/processes.ts';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(ts|tsx|mjs)$/.test(name) ? [path] : [];
  });
}

// env.NAME, process.env.NAME, env['NAME'] and the config helper intFromEnv(env, 'NAME', ...).
const READ = /(?:\benv\.([A-Z][A-Z0-9_]{2,})|\benv\[['"]([A-Z][A-Z0-9_]{2,})['"]\]|intFromEnv\(env, '([A-Z][A-Z0-9_]{2,})')/g;

// A variable a file assigns is one it hands to a child process or a library, not a setting it reads.
const ASSIGNED = /\benv\.([A-Z][A-Z0-9_]{2,})\s*=[^=]/g;

function variablesRead(dirs: string[]): Set<string> {
  const names = new Set<string>();
  for (const file of dirs.flatMap((d) => sources(join(ROOT, d)))) {
    const text = readFileSync(file, 'utf8');
    const assigned = new Set([...text.matchAll(ASSIGNED)].map((m) => m[1]!));
    for (const m of text.matchAll(READ)) {
      const name = (m[1] ?? m[2] ?? m[3])!;
      if (!assigned.has(name)) names.add(name);
    }
  }
  return names;
}

describe('configuration docs', () => {
  const configuration = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

  it('name every variable the service and the CLI read, in docs/configuration.md and in the README', () => {
    const names = [...variablesRead(['src', 'bin'])].filter((n) => n !== 'XDG_CONFIG_HOME').sort();
    expect(names).toContain('DATABASE_URL');
    expect(names.filter((n) => !configuration.includes(`\`${n}\``))).toEqual([]);
    expect(names.filter((n) => !readme.includes(`\`${n}\``))).toEqual([]);
  });

  it('name every variable the tests and benchmarks read in docs/configuration.md', () => {
    const names = [...variablesRead(['test', 'bench'])].filter((n) => n.startsWith('PROOFBOARD_') || n.startsWith('BENCH_') || n.endsWith('_URL'));
    expect(names.filter((n) => !configuration.includes(`\`${n}\``))).toEqual([]);
  });
});
