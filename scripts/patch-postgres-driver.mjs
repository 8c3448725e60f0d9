#!/usr/bin/env node
// Patches postgres.js's connection.js (3.4.9, the newest 3.x with the defect; 3.4.10 leaves it unchanged, and 4.x
// is a rewrite drizzle-orm 0.45 was not built on) so that losing the database under load cannot crash or wedge the
// process. Run by this package's own postinstall (npm ci runs the root package's scripts); `--check` only reports.
//
// The defects, all in the write batching of src/connection.js (small writes wait for a setImmediate flush):
// 1. nextWrite() runs with `socket === null` when a query is written to a connection that has just closed (a
//    transaction's automatic ROLLBACK after its connection died, or a reserved connection): the TypeError is thrown
//    from a timer, so no caller can catch it and the process exits. Upstream: porsager/postgres#1154, #1066, #1208;
//    the guard as proposed in porsager/postgres#1168 and #1209, settling the queries that were written (dropping
//    them alone leaves their callers waiting forever). Unlike #1209 it leaves `initial` alone: that is the next
//    query, waiting for the reconnect, and a stale flush must not fail it.
// 2. closed() and terminate() cancel the pending flush without resetting `nextWriteTimer` or `chunk`. write() only
//    schedules a flush while `nextWriteTimer === null`, so the reconnected socket never sends its startup message:
//    the connection hangs until connect_timeout, and that query's request fails long after the outage.
// 3. closed() leaves the rejected query in `query`. On the next connect an ErrorResponse (57P03 "the database system
//    is starting up") is then kept for that stale query instead of failing the new one, and the connection retries
//    instead of answering; and the next session's first ReadyForQuery resolves the stale query with an empty result.
// 4. A transaction goes on using its connection after that connection closed (its ROLLBACK, or its next statement):
//    execute() wrote it to whatever socket came next, so it ran in another session, or was answered with another
//    query's result. It now fails at once with CONNECTION_CLOSED, as the transaction's earlier statements did.
// Each edit is matched on the exact upstream text: if a new release changes it, this script fails loudly instead of
// guessing, and whoever upgrades checks whether upstream fixed the defects (then remove the edit).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MARK = 'proofboard patch';
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGE = join(ROOT, 'node_modules', 'postgres');
// The three builds the package ships: ESM (Node's import), CommonJS (require), Cloudflare Workers.
const BUILDS = ['src', 'cjs/src', 'cf/src'].map((d) => join(PACKAGE, d, 'connection.js'));

const EDITS = [
  {
    what: 'a query given to a connection without a socket fails at once (#1208: nothing may be written to it)',
    find: `  function execute(q) {
    if (terminated)
      return queryError(q, Errors.connection('CONNECTION_DESTROYED', options))
`,
    replace: `  function execute(q) {
    if (terminated)
      return queryError(q, Errors.connection('CONNECTION_DESTROYED', options))

    if (socket === null) // ${MARK}: porsager/postgres#1208 (a transaction's query after its connection closed)
      return queryError(q, Errors.connection('CONNECTION_CLOSED', options)), true // true: keeps the pool's queues as they are
`,
  },
  {
    what: 'nextWrite on a closed socket settles the waiting queries instead of throwing from a timer (#1208, #1209)',
    find: `  function nextWrite(fn) {
    const x = socket.write(chunk, fn)`,
    replace: `  function nextWrite(fn) {
    if (socket === null) { // ${MARK}: porsager/postgres#1208 (a write after close threw from a timer)
      nextWriteTimer !== null && clearImmediate(nextWriteTimer)
      chunk = nextWriteTimer = null
      const err = Errors.connection('CONNECTION_CLOSED', options)
      query && queryError(query, err)
      while (sent.length) queryError(sent.shift(), err)
      query = results = errorResponse = null
      result = new Result()
      return true // nothing to wait for: a 'drain' never comes on a closed socket
    }
    const x = socket.write(chunk, fn)`,
  },
  {
    what: 'terminate() resets the write batching',
    find: `    clearImmediate(nextWriteTimer)
    if (socket) {`,
    replace: `    clearImmediate(nextWriteTimer)
    chunk = nextWriteTimer = null // ${MARK}: a stale timer would block every later flush
    if (socket) {`,
  },
  {
    what: 'closed() resets the write batching',
    find: `    clearImmediate(nextWriteTimer)
    socket.removeListener('data', data)`,
    replace: `    clearImmediate(nextWriteTimer)
    chunk = nextWriteTimer = null // ${MARK}: a stale timer would block the reconnected socket's startup message
    socket.removeListener('data', data)`,
  },
  {
    what: 'closed() fails the queries written to the socket and forgets them, also while reconnecting',
    find: `    if (initial)
      return reconnect()

    !hadError && (query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))
`,
    replace: `    if (initial) { // ${MARK}: only \`initial\` waits for the reconnect; a query written meanwhile died here
      const lost = Errors.connection('CONNECTION_CLOSED', options)
      query && query !== initial && queryError(query, lost)
      while (sent.length) queryError(sent.shift(), lost)
      query = results = errorResponse = null
      result = new Result()
      return reconnect()
    }

    !hadError && (query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))
    query = results = errorResponse = null // ${MARK}: a stale query would swallow the next connect's error
    result = new Result()
`,
  },
];

function patchFile(file, check) {
  let text = readFileSync(file, 'utf8');
  const missing = [];
  let changed = false;
  for (const edit of EDITS) {
    if (text.includes(edit.replace)) continue;
    if (!text.includes(edit.find)) {
      missing.push(edit.what);
      continue;
    }
    if (check) {
      missing.push(`${edit.what} (not applied)`);
      continue;
    }
    text = text.replace(edit.find, edit.replace);
    changed = true;
  }
  if (changed) writeFileSync(file, text);
  return missing;
}

const check = process.argv.includes('--check');
if (!existsSync(PACKAGE)) {
  // Installed without the driver (nothing to patch); the --check of the tests still fails.
  if (check) {
    console.error('patch-postgres-driver: node_modules/postgres is not installed');
    process.exit(1);
  }
  process.exit(0);
}
const version = JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8')).version;
let failed = false;
for (const file of BUILDS.filter((f) => existsSync(f))) {
  const missing = patchFile(file, check);
  for (const m of missing) {
    failed = true;
    console.error(`patch-postgres-driver: postgres ${version} ${file.slice(ROOT.length + 1)}: ${m}`);
  }
}
if (failed) {
  console.error(
    'patch-postgres-driver: the driver is not patched. If postgres.js was upgraded, check whether the release fixes ' +
      'porsager/postgres#1208 and the stale write timer, then update or remove scripts/patch-postgres-driver.mjs.',
  );
  process.exit(1);
}
