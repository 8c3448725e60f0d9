// Where `proofboard recheck --replay` finds its local replay: src/cli/recheck-replay.ts, beside this file when the
// checkout has the sandbox worker. A module of its own so that the one-file build, which has no sandbox, carries
// neither it nor its dynamic import.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ClaimBundle } from '../recheck/bundle.ts';
import type { Check } from '../recheck/report.ts';

const REPLAY_MODULE = fileURLToPath(new URL('./recheck-replay.ts', import.meta.url));

/**
 * The local replay, when the sandbox worker is part of this checkout. It is never faked: without the worker the
 * report says "replay not available" and the check is skipped, not passed.
 */
export async function loadReplay(server: string): Promise<((bundle: ClaimBundle) => Promise<Check>) | null> {
  if (!existsSync(REPLAY_MODULE)) return null;
  const mod = (await import(REPLAY_MODULE)) as { runReplayForRecheck?: (b: ClaimBundle, o: { server: string }) => Promise<Check> };
  const run = mod.runReplayForRecheck;
  if (typeof run !== 'function') return null;
  return (bundle) => run(bundle, { server });
}
