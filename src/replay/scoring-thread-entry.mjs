// Entry of a scoring thread (src/replay/scoring-thread.ts). A worker thread does not inherit the tsx loader that
// bin/proofboard.mjs registers, so it registers its own before loading the TypeScript body.
import { register } from 'tsx/esm/api';

register();
await import('./scoring-worker.ts');
