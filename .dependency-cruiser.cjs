// Import rules: DESIGN.md "Layout", one rule per arrow. `npm run lint:imports` checks them and CI runs it
// (.ci/run); test/layout/import-rules.test.ts shows that each rule fails on an import that breaks it.
//
//   top       src/api  src/cli  src/server.ts  (bin/)        composition: HTTP routes, commands, the process
//   middle    src/service  src/replay  src/witness            actions on the database; the sandbox and worker loop;
//             src/mirror                                      the witness service; the mirror
//             src/blobs  src/config.ts  src/logger.ts  db/    I/O helpers the service and the process share
//   bottom    src/attest  src/zk  src/log  src/verdict  src/recheck   pure: bytes and trust material in, a result out
//
// Arrows only point down. Within the bottom, src/recheck sits above the others (it calls src/verdict's rules).

/** The pure libraries: a third party's `proofboard recheck` runs only these and never the server's code. */
const PURE = '^src/(attest|zk|log|verdict|recheck)/';
/** Everything that is not pure: the layers that do I/O, and the process's own modules. */
const IO_LAYERS = '^(src/(api|service|replay|witness|mirror|cli|blobs)/|src/(server|config|logger)[.]ts$|db/|bin/)';
/** Node's modules that reach other processes or the network. fs stays allowed: recheck keeps its state in a file. */
const IO_CORE = '^(node:)?(child_process|cluster|dgram|diagnostics_channel|dns|http|http2|https|inspector|net|repl|tls|trace_events|tty|v8|vm)(/|$)';
/** Packages for the network, the database, logs, metrics and terminals: they belong to the middle and top layers. */
const IO_PACKAGES =
  'node_modules/(@electric-sql/pglite|@hono/[^/]+|autocannon|cli-progress|drizzle-kit|drizzle-orm|hono|pg-boss|pino|pino-[^/]+|playwright-core|postgres|prom-client|undici|ws)/';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycles between files: a cycle hides which module is the lower one.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'pure-imports-no-io-layer',
      comment:
        'src/attest, src/zk, src/log, src/verdict and src/recheck are pure (DESIGN.md "Layout"): they never import the API, ' +
        'the service, the sandbox, the commands, the server, the database or the I/O helpers.',
      severity: 'error',
      from: { path: PURE },
      to: { path: IO_LAYERS },
    },
    {
      name: 'pure-imports-no-io-module',
      comment:
        'The pure libraries take bytes and trust material as arguments (STYLE.md 1-2): no processes, sockets or HTTP from ' +
        'node, no database driver, web framework, logger, metrics or terminal UI.',
      severity: 'error',
      from: { path: PURE },
      to: { dependencyTypes: ['core'], path: IO_CORE },
    },
    {
      name: 'pure-imports-no-io-package',
      comment: 'As pure-imports-no-io-module, for npm packages.',
      severity: 'error',
      from: { path: PURE },
      to: { path: IO_PACKAGES },
    },
    {
      name: 'log-imports-only-crypto',
      comment:
        'src/log (Merkle tree, checkpoints, proofs) needs only hashing and Ed25519: node:crypto, @noble and src/attest/bytes ' +
        'and ed25519. Replaces test/log/purity.test.ts.',
      severity: 'error',
      from: { path: '^src/log/' },
      to: { pathNot: ['^src/log/', '^src/attest/(bytes|ed25519)[.]ts$', '^(node:)?crypto$', '^node_modules/@noble/'] },
    },
    {
      name: 'verdict-below-recheck',
      comment: "src/recheck calls src/verdict's rules (DESIGN.md \"Layout\"); nothing else in the bottom layer imports src/recheck.",
      severity: 'error',
      from: { path: '^src/(attest|zk|log|verdict)/' },
      to: { path: '^src/recheck/' },
    },
    {
      name: 'replay-imports-only-pure',
      comment:
        'src/replay is the sandbox-and-worker library: it imports only the pure libraries. Composing it with the server or ' +
        'a command (serve\'s in-process worker, `proofboard verifier`, `recheck --replay`) happens in src/cli.',
      severity: 'error',
      from: { path: '^src/replay/' },
      to: { path: '^(src/(api|service|cli|blobs)/|src/(server|config|logger)[.]ts$|db/|bin/)' },
    },
    {
      name: 'witness-imports-only-pure',
      comment:
        'src/witness is a small service of its own (a tlog-witness that others may run): it imports only the pure ' +
        'libraries, never the proofboard service, its database or the commands.',
      severity: 'error',
      from: { path: '^src/witness/' },
      to: { path: '^(src/(api|service|replay|cli|blobs)/|src/(server|config|logger)[.]ts$|db/|bin/)' },
    },
    {
      name: 'mirror-imports-only-pure',
      comment:
        'src/mirror copies a board over HTTP and re-checks it with src/recheck, as any third party would: it imports ' +
        'the pure libraries and the blob store, never the service, its database or the commands.',
      severity: 'error',
      from: { path: '^src/mirror/' },
      to: { path: '^(src/(api|service|replay|witness|cli)/|src/(server|config|logger)[.]ts$|db/|bin/)' },
    },
    {
      name: 'service-imports-no-replay',
      comment:
        'src/service and src/replay sit side by side: the API process never loads the sandbox code, and what both need ' +
        '(the signed worker requests, the lease) is a signed format in src/attest.',
      severity: 'error',
      from: { path: '^src/service/' },
      to: { path: '^src/replay/' },
    },
    {
      name: 'nothing-imports-the-commands',
      comment: 'src/cli is the top: only the command itself (bin/proofboard.mjs) and other commands import it.',
      severity: 'error',
      from: { pathNot: '^(src/cli/|bin/)' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'nothing-imports-the-server',
      comment: 'src/server.ts assembles the process; only the serve command imports it.',
      severity: 'error',
      from: { pathNot: '^(src/cli/|bin/)' },
      to: { path: '^src/server[.]ts$' },
    },
    {
      name: 'nothing-imports-the-api',
      comment: 'src/api is the top: routes call the service, never the other way round. Only src/server.ts mounts it.',
      severity: 'error',
      from: { pathNot: '^(src/api/|src/server[.]ts$)' },
      to: { path: '^src/api/' },
    },
    {
      name: 'db-imports-no-src',
      comment: 'db/ (schema, client, migrations) is storage under the service: it imports nothing of src/.',
      severity: 'error',
      from: { path: '^db/' },
      to: { path: '^src/' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import the cruiser cannot resolve would escape every rule above.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Resolve packages' "exports" maps as Node does for ESM (hono/jsx, tsx/esm/api, @hono/node-server/conninfo).
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.mts', '.js', '.mjs', '.cjs', '.d.ts', '.json'],
    },
  },
};
