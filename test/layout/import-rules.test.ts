// The layering of DESIGN.md "Layout", enforced by dependency-cruiser with the rules in .dependency-cruiser.cjs. The
// tree must obey them, and each rule must fail on a small tree that breaks it: a rule that never fires proves nothing.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { cruise, format, type ICruiseOptions, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');

type RuleConfig = { forbidden: { name: string }[]; options: ICruiseOptions };
const config = createRequire(import.meta.url)(CONFIG) as RuleConfig;

async function cruiseTree(baseDir: string, entries: string[]): Promise<ICruiseResult> {
  const tsConfigFile = join(baseDir, 'tsconfig.json');
  const options: ICruiseOptions = {
    ...config.options,
    validate: true,
    ruleSet: { forbidden: config.forbidden } as ICruiseOptions['ruleSet'],
    baseDir,
    // The fixture's node_modules is a link to the repository's: report packages under the fixture's own path.
    preserveSymlinks: true,
    tsConfig: { fileName: tsConfigFile },
    outputType: 'json',
  };
  const { output } = await cruise(entries, options, {}, { tsConfig: extractTSConfig(tsConfigFile) });
  return (typeof output === 'string' ? JSON.parse(output) : output) as ICruiseResult;
}

async function report(result: ICruiseResult): Promise<string> {
  return String((await format(result, { outputType: 'err' })).output);
}

const errors = (result: ICruiseResult): IViolation[] => result.summary.violations.filter((v) => v.rule.severity === 'error');

describe('the tree', () => {
  it('obeys the import rules (npm run lint:imports)', async () => {
    const result = await cruiseTree(ROOT, ['src', 'db', 'bin']);
    expect(errors(result), await report(result)).toEqual([]);
  });
});

/** One small tree per rule, each with one import that breaks it. `to` is the module the bad import reaches. */
const BROKEN: { rule: string; files: Record<string, string>; from: string; to: string }[] = [
  {
    rule: 'no-circular',
    files: { 'src/attest/a.ts': "import { b } from './b.ts';\nexport const a = b;\n", 'src/attest/b.ts': "import type { a } from './a.ts';\nexport const b: typeof a | 1 = 1;\n" },
    from: 'src/attest/a.ts',
    to: 'src/attest/b.ts',
  },
  {
    rule: 'pure-imports-no-io-layer',
    files: { 'src/verdict/rules.ts': "import { db } from '../service/store.ts';\nexport const r = db;\n", 'src/service/store.ts': 'export const db = 1;\n' },
    from: 'src/verdict/rules.ts',
    to: 'src/service/store.ts',
  },
  {
    rule: 'pure-imports-no-io-module',
    files: { 'src/zk/prove.ts': "import { spawnSync } from 'node:child_process';\nexport const p = spawnSync;\n" },
    from: 'src/zk/prove.ts',
    to: 'child_process',
  },
  {
    rule: 'pure-imports-no-io-package',
    files: { 'src/recheck/fetch.ts': "import postgres from 'postgres';\nexport const sql = postgres;\n" },
    from: 'src/recheck/fetch.ts',
    to: 'node_modules/postgres/',
  },
  {
    rule: 'log-imports-only-crypto',
    files: { 'src/log/note.ts': "import { z } from 'zod';\nexport const s = z.string();\n" },
    from: 'src/log/note.ts',
    to: 'node_modules/zod/',
  },
  {
    rule: 'verdict-below-recheck',
    files: { 'src/verdict/rules.ts': "import { report } from '../recheck/report.ts';\nexport const r = report;\n", 'src/recheck/report.ts': 'export const report = 1;\n' },
    from: 'src/verdict/rules.ts',
    to: 'src/recheck/report.ts',
  },
  {
    rule: 'replay-imports-only-pure',
    files: { 'src/replay/in-process-worker.ts': "import { ensureKey } from '../service/worker-key.ts';\nexport const w = ensureKey;\n", 'src/service/worker-key.ts': 'export const ensureKey = 1;\n' },
    from: 'src/replay/in-process-worker.ts',
    to: 'src/service/worker-key.ts',
  },
  {
    rule: 'witness-imports-only-pure',
    files: { 'src/witness/witness-server.ts': "import { logSize } from '../service/views/log-read.ts';\nexport const w = logSize;\n", 'src/service/views/log-read.ts': 'export const logSize = 1;\n' },
    from: 'src/witness/witness-server.ts',
    to: 'src/service/views/log-read.ts',
  },
  {
    rule: 'mirror-imports-only-pure',
    files: { 'src/mirror/copy.ts': "import { latestCheckpoint } from '../service/views/log-read.ts';\nexport const c = latestCheckpoint;\n", 'src/service/views/log-read.ts': 'export const latestCheckpoint = 1;\n' },
    from: 'src/mirror/copy.ts',
    to: 'src/service/views/log-read.ts',
  },
  {
    rule: 'service-imports-no-replay',
    files: { 'src/service/worker-auth.ts': "import { verify } from '../replay/worker-request.ts';\nexport const a = verify;\n", 'src/replay/worker-request.ts': 'export const verify = 1;\n' },
    from: 'src/service/worker-auth.ts',
    to: 'src/replay/worker-request.ts',
  },
  {
    rule: 'nothing-imports-the-commands',
    files: { 'src/replay/worker.ts': "import { readKeyFile } from '../cli/key-file.ts';\nexport const w = readKeyFile;\n", 'src/cli/key-file.ts': 'export const readKeyFile = 1;\n' },
    from: 'src/replay/worker.ts',
    to: 'src/cli/key-file.ts',
  },
  {
    // A type-only import counts: it still says the lower layer knows the upper one.
    rule: 'nothing-imports-the-server',
    files: { 'src/service/jobs.ts': "import type { RunningService } from '../server.ts';\nexport type J = RunningService;\n", 'src/server.ts': 'export type RunningService = { url: string };\n' },
    from: 'src/service/jobs.ts',
    to: 'src/server.ts',
  },
  {
    rule: 'nothing-imports-the-api',
    files: { 'src/service/errors.ts': "import { toResponse } from '../api/errors.ts';\nexport const e = toResponse;\n", 'src/api/errors.ts': 'export const toResponse = 1;\n' },
    from: 'src/service/errors.ts',
    to: 'src/api/errors.ts',
  },
  {
    rule: 'db-imports-no-src',
    files: { 'db/schema.ts': "import { claimIdOf } from '../src/attest/claim.ts';\nexport const s = claimIdOf;\n", 'src/attest/claim.ts': 'export const claimIdOf = 1;\n' },
    from: 'db/schema.ts',
    to: 'src/attest/claim.ts',
  },
  {
    rule: 'not-to-unresolvable',
    files: { 'src/attest/dsse.ts': "import { pae } from './pae.ts';\nexport const d = pae;\n" },
    from: 'src/attest/dsse.ts',
    to: './pae.ts',
  },
];

/** Every arrow that DESIGN.md allows, in one tree: none of it may be reported. */
const ALLOWED: Record<string, string> = {
  'bin/proofboard.mjs': "import { main } from '../src/cli/main.ts';\nawait main([]);\n",
  'src/cli/main.ts': "import { start } from '../server.ts';\nimport { run } from '../replay/worker.ts';\nimport { keyId } from '../attest/registry.ts';\nexport const main = async (_: string[]) => [start, run, keyId];\n",
  'src/server.ts': "import { app } from './api/app.ts';\nimport { config } from './config.ts';\nimport { store } from './blobs/store.ts';\nexport const start = [app, config, store];\n",
  'src/api/app.ts': "import { lease } from '../service/jobs.ts';\nimport { leaseSchema } from '../attest/worker-request.ts';\nimport { isDown } from '../../db/errors.ts';\nexport const app = [lease, leaseSchema, isDown];\n",
  'src/service/jobs.ts': "import { schema } from '../../db/schema.ts';\nimport { decide } from '../verdict/rules.ts';\nimport { store } from '../blobs/store.ts';\nimport { log } from '../logger.ts';\nexport const lease = [schema, decide, store, log];\n",
  'src/replay/worker.ts': "import { spawnSync } from 'node:child_process';\nimport { leaseSchema } from '../attest/worker-request.ts';\nimport { check } from '../recheck/check.ts';\nimport { verify } from '../zk/verify.ts';\nexport const run = [spawnSync, leaseSchema, check, verify];\n",
  'src/recheck/check.ts': "import { readFileSync } from 'node:fs';\nimport { decide } from '../verdict/rules.ts';\nimport { root } from '../log/merkle.ts';\nexport const check = [readFileSync, decide, root];\n",
  'src/verdict/rules.ts': "import { z } from 'zod';\nimport { keyId } from '../attest/registry.ts';\nexport const decide = [z, keyId];\n",
  'src/zk/verify.ts': "import { createHash } from 'node:crypto';\nimport { Worker } from 'node:worker_threads';\nimport { keyId } from '../attest/registry.ts';\nexport const verify = [createHash, Worker, keyId];\n",
  'src/log/merkle.ts': "import { createHash } from 'node:crypto';\nimport { toHex } from '../attest/bytes.ts';\nexport const root = [createHash, toHex];\n",
  'src/attest/registry.ts': "import { toHex } from './bytes.ts';\nexport const keyId = toHex;\n",
  'src/attest/bytes.ts': 'export const toHex = 1;\n',
  'src/attest/worker-request.ts': "import { z } from 'zod';\nexport const leaseSchema = z.object({});\n",
  'src/config.ts': 'export const config = 1;\n',
  'src/logger.ts': "import { pino } from 'pino';\nexport const log = pino;\n",
  'src/blobs/store.ts': "import { open } from 'node:fs/promises';\nexport const store = open;\n",
  'db/schema.ts': "import { pgTable } from 'drizzle-orm/pg-core';\nexport const schema = pgTable;\n",
  'db/errors.ts': 'export const isDown = 1;\n',
};

describe('each import rule', () => {
  const dirs: string[] = [];
  const tree = (files: Record<string, string>): string => {
    const dir = mkdtempSync(join(tmpdir(), 'proofboard-layout-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'tsconfig.json'), readFileSync(join(ROOT, 'tsconfig.json')));
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    return dir;
  };
  beforeAll(() => {
    expect(new Set(BROKEN.map((c) => c.rule)), 'every rule has a tree that breaks it').toEqual(new Set(config.forbidden.map((r) => r.name)));
  });
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('lets every downward arrow through', async () => {
    const result = await cruiseTree(tree(ALLOWED), ['bin', 'src', 'db']);
    expect(result.summary.totalCruised).toBeGreaterThanOrEqual(Object.keys(ALLOWED).length);
    expect(errors(result), await report(result)).toEqual([]);
  });

  it.each(BROKEN)('$rule fails on $from importing $to', async ({ rule, files, from, to }) => {
    const dir = tree(files);
    const result = await cruiseTree(dir, Object.keys(files).filter((f) => !f.startsWith('node_modules')));
    const found = errors(result).filter((v) => v.rule.name === rule);
    expect(found.length, `${rule} did not fire:\n${await report(result)}`).toBeGreaterThan(0);
    expect(found.some((v) => v.from === from && (v.to === to || v.to.startsWith(to))), JSON.stringify(found)).toBe(true);
  });
});
