// Entry of a pairing thread (src/zk/pairing-thread.ts). A worker thread does not inherit the tsx loader that
// bin/proofboard.mjs registers, so it registers its own before loading the TypeScript worker body.
import { register } from 'tsx/esm/api';

register();
await import('./pairing-worker.ts');
