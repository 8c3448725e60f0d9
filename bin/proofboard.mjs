#!/usr/bin/env node
// Entry point of the `proofboard` command. tsx runs the TypeScript sources directly, so there is no build step
// between a clean clone and a running service.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
