// Builds the one-file recheck, dist/proofboard-recheck.cjs (docs/recheck.md "One file"): src/cli/recheck-one-file.ts
// and everything it imports, bundled by esbuild into one script, carried with its V8 code cache by a small CommonJS
// loader (below) in one file that runs with `node` alone. The pinned circuits (verification key text, pin, eval-set
// layout computed from the committed eval split) are written in here, so the file needs neither the checkout nor
// node_modules.
//
// Reproducible: the same commit, the same package-lock (esbuild's version) and the same Node give the same bytes, so
// anyone can rebuild and compare the SHA-256 printed at the end with a published one. Nothing variable goes in: no
// time, no path, no environment; the commit is the checkout's HEAD (or PROOFBOARD_BUILD_COMMIT).
//   npm run build:recheck                  (dist/proofboard-recheck.cjs)
//   npx tsx scripts/build-recheck.ts --out FILE
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { recordMclInit, type MclInstance } from '../src/zk/mcl-init-snapshot.ts';
import { circuitArtifacts, DIGITS_CIRCUIT_ID, DIGITS_VKEY_SHA256, loadExampleTask } from '../src/zk/example-task.ts';

const ROOT = resolve(import.meta.dirname, '..');
const outAt = process.argv.indexOf('--out');
const OUT = outAt > 0 && process.argv[outAt + 1] ? resolve(process.argv[outAt + 1]!) : resolve(ROOT, 'dist', 'proofboard-recheck.cjs');

function headCommit(): string {
  if (process.env.PROOFBOARD_BUILD_COMMIT) return process.env.PROOFBOARD_BUILD_COMMIT;
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

// The same pins src/recheck/pins.ts gives the repository's command, computed once here instead of at every run.
const task = await loadExampleTask();
const vkey = readFileSync(circuitArtifacts(DIGITS_CIRCUIT_ID).vkey, 'utf8');
if (createHash('sha256').update(vkey).digest('hex') !== DIGITS_VKEY_SHA256) throw new Error('the committed verification key does not match its pin');
const pins = [{ id: DIGITS_CIRCUIT_ID, vkeySha256: DIGITS_VKEY_SHA256, vkey, evalSetCommitment: task.evalSetCommitment, shardCommitments: task.shardCommitments }];

// The repository's pins read circuits/build and examples/ at run time (and load the Poseidon evaluator); the one-file
// entry passes its own, so that module is left out rather than bundled unused.
const noRepositoryPins: Plugin = {
  name: 'no-repository-pins',
  setup(b) {
    b.onResolve({ filter: /\/recheck\/pins\.ts$/ }, () => ({ path: 'repository-pins', namespace: 'stub' }));
    b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
      contents: "export function repositoryPins() { throw new Error('the one-file recheck carries its own pins'); }",
      loader: 'js',
    }));
  },
};

// mcl-wasm decodes its embedded wasm with Uint8Array.from(atob(...), charCodeAt): about 100 ms of a cold start for
// half a megabyte. Buffer.from(..., 'base64') gives the same bytes in about a millisecond. The build fails if the
// pattern moves (a new mcl-wasm), rather than ship without the change unnoticed.
const MCL_DECODE = /Uint8Array\.from\(atob\(wasmBase64\), function \(c\) \{ return c\.charCodeAt\(0\);\s*\}\)/;
const fastWasmDecode: Plugin = {
  name: 'mcl-fast-wasm-decode',
  setup(b) {
    b.onLoad({ filter: /mcl-wasm[\\/]dist[\\/]mcl_c\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (!MCL_DECODE.test(source)) throw new Error(`${args.path}: mcl-wasm's wasm decoding changed; update scripts/build-recheck.ts`);
      return { contents: source.replace(MCL_DECODE, "new Uint8Array(Buffer.from(wasmBase64, 'base64'))"), loader: 'js' };
    });
  },
};

// mcl's own set-up, mclBn_init, about 15 ms of every cold start: recorded here on a fresh instance of the same module
// and written into memory at run time instead (src/zk/mcl-init-snapshot.ts says why that is the same), through one
// changed line of mcl-wasm's initializeMcl. The build fails if that line moves.
const MCL_INIT_CALL = 'const r = exports.mod._mclBn_init(curveType, constants_1.MCLBN_COMPILED_TIME_VAR);';
const mclConstants = createRequire(import.meta.url)('mcl-wasm/dist/constants.js') as { BN_SNARK1: number; MCLBN_COMPILED_TIME_VAR: number };
const createMclModule = createRequire(import.meta.url)('mcl-wasm/dist/mcl_c.js') as (opts: object) => Promise<MclInstance>;
const mclInit = recordMclInit(
  await createMclModule({ cryptoGetRandomValues: () => { throw new Error('mclBn_init asked for randomness'); } }),
  mclConstants.BN_SNARK1,
  mclConstants.MCLBN_COMPILED_TIME_VAR,
);
const recordedMclInit: Plugin = {
  name: 'mcl-recorded-init',
  setup(b) {
    b.onLoad({ filter: /mcl-wasm[\\/]dist[\\/]mcl\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (source.split(MCL_INIT_CALL).length !== 2) throw new Error(`${args.path}: mcl-wasm's call of mclBn_init changed; update scripts/build-recheck.ts`);
      const replay = `const r = require(${JSON.stringify(join(ROOT, 'src', 'zk', 'mcl-init-snapshot.ts'))}).initialiseMcl(exports.mod, curveType, constants_1.MCLBN_COMPILED_TIME_VAR, ${JSON.stringify(mclInit)});`;
      return { contents: source.replace(MCL_INIT_CALL, replay), loader: 'js' };
    });
  },
};

// zod's `z` is one namespace object holding all of zod (every locale, JSON Schema conversion, ...), and esbuild cannot
// leave out what a namespace object holds: about 460 KB of the file, parsed at every start. So each source file's
// `import { z } from 'zod'` is bundled as `import * as z from` zod's classic API module, the module `z` is
// (zod/index.js: `import * as z from "./v4/classic/external.js"`), whose unused exports esbuild then leaves out
// (about 100 KB remain). The same functions, so the same behaviour. The build fails if zod's layout moves, or if a
// source file imports zod's values another way, rather than ship all of zod again unnoticed.
const ZOD_DIR = dirname(createRequire(import.meta.url).resolve('zod'));
if (!readFileSync(join(ZOD_DIR, 'index.js'), 'utf8').includes('import * as z from "./v4/classic/external.js";')) {
  throw new Error(`${ZOD_DIR}: zod's \`z\` is no longer its classic API module; update scripts/build-recheck.ts`);
}
const ZOD_IMPORT = /^import \{ z \} from 'zod';$/m;
const zodUsedParts: Plugin = {
  name: 'zod-used-parts',
  setup(b) {
    b.onResolve({ filter: /^zod-classic-api$/ }, () => ({ path: join(ZOD_DIR, 'v4', 'classic', 'external.js') }));
    b.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const rewritten = source.replace(ZOD_IMPORT, "import * as z from 'zod-classic-api';");
      if (/^import (?!type )[^;]*from 'zod[/']/m.test(rewritten)) throw new Error(`${args.path}: imports zod other than as \`import { z } from 'zod'\`; update scripts/build-recheck.ts`);
      return rewritten === source ? undefined : { contents: rewritten, loader: 'ts' };
    });
  },
};

// The recheck command as one script (not a module: V8 takes a code cache only for a script compiled through node:vm).
// `import.meta.url` becomes the loader's, passed in, as are `require` and whether V8 took the cache.
const bundled = await build({
  absWorkingDir: ROOT,
  entryPoints: ['src/cli/recheck-one-file.ts'],
  write: false,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // A script compiled by node:vm has no module loader, so no import(): esbuild writes each as a require().
  supported: { 'dynamic-import': false },
  minify: true,
  legalComments: 'eof',
  define: {
    PROOFBOARD_EMBEDDED_PINS: JSON.stringify(pins),
    PROOFBOARD_BUILD: JSON.stringify({ commit: headCommit(), node: process.version }),
    'import.meta.url': '__pbLoaderUrl',
  },
  plugins: [noRepositoryPins, fastWasmDecode, recordedMclInit, zodUsedParts],
  logLevel: 'warning',
});
const body = bundled.outputFiles[0]!.text;
// A dynamic import() left in the script would fail at run time: the build checks esbuild wrote none.
if (/\bimport\(/.test(body)) throw new Error('the bundled recheck still holds a dynamic import(); it cannot run as a script');
const code = `(function (require, __pbLoaderUrl, PROOFBOARD_CODE_CACHE) {${body}\n})`;

// The warm-up's command line: a claim id, a server that is not a URL (so nothing is asked for early) and a malformed
// log key, which the command refuses (exit 2) after loading every module and reading its options, before any request.
const WARM_UP_ARGV = ['0'.repeat(64), '--server', 'not-a-url', '--log-key', 'not-a-key'];

/**
 * V8's compiled form of what a start runs, made by running the script once in a fresh node: module set-up, the
 * cold-start set-up and the command line's parsing (WARM_UP_ARGV, which touches no network). Deterministic: the run
 * is under `--predictable` (one thread, fixed seeds, which V8 leaves out of the flags a cache is checked against), and
 * with the cold-start tuning's V8 flags left unset, since a cache made under other flags is refused. The same node
 * gives the same bytes.
 */
function codeCache(scriptPath: string): Buffer {
  const cachePath = `${scriptPath}.cache`;
  const warmUp = `
    const { Script } = require('node:vm'); const fs = require('node:fs'); const v8 = require('node:v8');
    const script = new Script(fs.readFileSync(${JSON.stringify(scriptPath)}, 'utf8'), { filename: 'proofboard-recheck.cjs' });
    const quietV8 = { ...v8, setFlagsFromString() {} };
    process.argv = [process.argv[0], 'proofboard-recheck.cjs', ...${JSON.stringify(WARM_UP_ARGV)}];
    process.on('exit', () => fs.writeFileSync(${JSON.stringify(cachePath)}, script.createCachedData()));
    script.runInThisContext()((id) => (id === 'node:v8' ? quietV8 : require(id)), 'file:///proofboard-recheck.cjs', 'used');`;
  // An empty environment: NODE_OPTIONS (a heap size, a loader) would change V8's flags, and with them the cache.
  const ran = spawnSync(process.execPath, ['--predictable', '-e', warmUp], { stdio: ['ignore', 'ignore', 'pipe'], env: {}, encoding: 'utf8' });
  // The command refuses the key, as it should: exit 2 with its usage error, nothing else.
  if (ran.status !== 2 || !ran.stderr.startsWith('proofboard recheck: --log-key is not a C2SP verifier key')) {
    throw new Error(`the code cache warm-up did not end as expected (exit ${ran.status}): ${ran.stderr.slice(0, 500)}`);
  }
  const cache = readFileSync(cachePath);
  // A cache V8 would refuse is no use: fail here rather than ship a file that is quietly slower.
  const check = `const { Script } = require('node:vm'); const fs = require('node:fs');
    const s = new Script(fs.readFileSync(${JSON.stringify(scriptPath)}, 'utf8'), { filename: 'check', cachedData: fs.readFileSync(${JSON.stringify(cachePath)}) });
    process.exitCode = s.cachedDataRejected ? 1 : 0;`;
  try {
    execFileSync(process.execPath, ['-e', check], { stdio: 'inherit', env: {} });
  } catch {
    throw new Error('V8 refuses the code cache it just made; the file would start slowly');
  }
  return cache;
}

mkdirSync(dirname(OUT), { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'proofboard-build-recheck-'));
let cache: Buffer;
try {
  writeFileSync(join(work, 'recheck.js'), code);
  cache = codeCache(join(work, 'recheck.js'));
} finally {
  rmSync(work, { recursive: true, force: true });
}

// The file: a small CommonJS loader that reads the script and its code cache from the comment closing the file,
// compiles the one with the other and runs it. A comment, not string literals: V8 skips a comment far faster than it
// scans a megabyte of string (about 5 ms of every start), and CommonJS is read faster than an ES module.
// V8 refuses the cache under another Node version or other V8 flags, and the script then compiles as usual; it does
// not check the cache against the script's text (only its length), so what runs is the compiled code: a file is
// trusted by its SHA-256 against a rebuild (docs/recheck.md "One file"), and PROOFBOARD_RECHECK_CODE_CACHE=off runs
// the script's own text alone. `--version` says which happened.
// JSON with every "*/" written "*\/" (the same string to JSON.parse) cannot end the comment early.
const payload = JSON.stringify({ code, compiled: cache.toString('base64') }).replaceAll('*/', '*\\/');
const loader = `#!/usr/bin/env node
// proofboard-recheck (docs/recheck.md "One file"), built by scripts/build-recheck.ts from the proofboard repository.
// The comment that closes this file holds the recheck command as one script (code) and V8's compiled form of its
// start-up, made at build time (compiled). What runs is that compiled form: check this file's SHA-256 against a
// rebuild of its commit, or run the script alone with PROOFBOARD_RECHECK_CODE_CACHE=off.
'use strict';
const { readFileSync } = require('node:fs');
const { pathToFileURL } = require('node:url');
const { Script } = require('node:vm');
const self = readFileSync(__filename, 'latin1');
const { code, compiled } = JSON.parse(self.slice(self.lastIndexOf('\\n/*') + 3, self.lastIndexOf('*/')));
const off = process.env.PROOFBOARD_RECHECK_CODE_CACHE === 'off';
const script = new Script(code, { filename: __filename, cachedData: off ? undefined : Buffer.from(compiled, 'base64') });
script.runInThisContext()(require, pathToFileURL(__filename).href, off ? 'off' : script.cachedDataRejected ? 'refused' : 'used');
/*${payload}*/
`;
// Read back as latin1 above: every byte must be ASCII (esbuild writes non-ASCII characters as escapes).
if (!/^[\x00-\x7f]*$/.test(loader)) throw new Error('the one-file recheck is not pure ASCII');
writeFileSync(OUT, loader);
const bytes = readFileSync(OUT);
console.log(`${OUT}: ${bytes.length} bytes (code cache ${cache.length}), sha256 ${createHash('sha256').update(bytes).digest('hex')}`);
