#!/usr/bin/env node
// Entry point of the `proofboard` command. tsx runs the TypeScript sources directly, so there is no build step
// between a clean clone and a running service.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
// The command is done (for serve and verifier: stopped by a signal, its jobs handed back). Whatever still holds the
// event loop now, a sandboxed job still running or a stuck read, must not keep the process alive: a job's sandbox
// dies with this process (bubblewrap --die-with-parent).
const STRAGGLER_GRACE_MS = 5_000;
setTimeout(() => {
  console.error(`proofboard: still busy ${STRAGGLER_GRACE_MS / 1000} s after the command finished; exiting`);
  process.exit();
}, STRAGGLER_GRACE_MS).unref();
