// Bundles scripts/gpu-check.ts and everything it imports (node_modules included) into one ES module,
// .device/gpu-check.mjs, for a GPU machine that has Python and PyTorch but no Node.js and no node_modules.
// Run by scripts/build-gpu-check.sh.
//
// The repository's own files (the harness, the evaluation set) travel with the working tree and are read at run
// time through `import.meta.url`. In a bundle every module would share the bundle's URL, so each source file's
// `import.meta.url` is rewritten to its own original location, relative to the bundle: the bundle must stay in
// .device/ of a checkout.
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT_DIR = join(ROOT, '.device');

const ownImportMetaUrl: Plugin = {
  name: 'own-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes(`${ROOT}/node_modules/`) || !args.path.startsWith(`${ROOT}/`)) return undefined;
      const source = await readFile(args.path, 'utf8');
      const own = JSON.stringify(relative(OUT_DIR, args.path));
      return { contents: source.replaceAll('import.meta.url', `new URL(${own}, import.meta.url).href`), loader: 'ts' };
    });
  },
};

const result = await build({
  entryPoints: [join(ROOT, 'scripts', 'gpu-check.ts')],
  outfile: join(OUT_DIR, 'gpu-check.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  legalComments: 'none',
  metafile: true,
  // CommonJS dependencies call require() for Node's built-ins; an ES module has none of its own.
  banner: { js: "import { createRequire as __pbCreateRequire } from 'node:module'; const require = __pbCreateRequire(import.meta.url);" },
  plugins: [ownImportMetaUrl],
  logLevel: 'warning',
});
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`wrote ${relative(ROOT, join(OUT_DIR, 'gpu-check.mjs'))} (${(bytes / 1024 ** 2).toFixed(1)} MiB)`);
