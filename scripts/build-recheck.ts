// Builds the one-file recheck, dist/proofboard-recheck.mjs (docs/recheck.md "One file"): src/cli/recheck-one-file.ts
// and everything it imports, bundled by esbuild into one ES module that runs with `node` alone. The pinned circuits
// (verification key text, pin, eval-set layout computed from the committed eval split) are written in here, so the
// file needs neither the checkout nor node_modules.
//
// Reproducible: the same commit, the same package-lock (esbuild's version) and the same Node give the same bytes, so
// anyone can rebuild and compare the SHA-256 printed at the end with a published one. Nothing variable goes in: no
// time, no path, no environment; the commit is the checkout's HEAD (or PROOFBOARD_BUILD_COMMIT).
//   npm run build:recheck                  (dist/proofboard-recheck.mjs)
//   npx tsx scripts/build-recheck.ts --out FILE
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { circuitArtifacts, DIGITS_CIRCUIT_ID, DIGITS_VKEY_SHA256, loadExampleTask } from '../src/zk/example-task.ts';

const ROOT = resolve(import.meta.dirname, '..');
const outAt = process.argv.indexOf('--out');
const OUT = outAt > 0 && process.argv[outAt + 1] ? resolve(process.argv[outAt + 1]!) : resolve(ROOT, 'dist', 'proofboard-recheck.mjs');

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

mkdirSync(dirname(OUT), { recursive: true });
await build({
  absWorkingDir: ROOT,
  entryPoints: ['src/cli/recheck-one-file.ts'],
  outfile: OUT,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  legalComments: 'eof',
  // CommonJS dependencies (mcl-wasm, cli-progress) call require() for Node's own modules.
  banner: { js: "#!/usr/bin/env node\nimport{createRequire as __pbRequire}from'node:module';const require=__pbRequire(import.meta.url);" },
  define: {
    PROOFBOARD_EMBEDDED_PINS: JSON.stringify(pins),
    PROOFBOARD_BUILD: JSON.stringify({ commit: headCommit() }),
  },
  plugins: [noRepositoryPins, fastWasmDecode, zodUsedParts],
  logLevel: 'warning',
});
const bytes = readFileSync(OUT);
console.log(`${OUT}: ${bytes.length} bytes, sha256 ${createHash('sha256').update(bytes).digest('hex')}`);
