// The command line of `proofboard recheck`, in a module of its own: the one-file build reads it before the checking
// code loads, to ask for the first answers early (src/cli/early-answers.ts), and must read it exactly as the command
// does: the options, and the rules both apply to them. No default here costs more than reading the environment.
import { serverUrlFromEnv } from '../config.ts';

export const RECHECK_OPTIONS = {
  server: { type: 'string', default: serverUrlFromEnv() },
  'log-key': { type: 'string' },
  witness: { type: 'string', multiple: true },
  'witnesses-needed': { type: 'string' },
  // Default: PROOFBOARD_RECHECK_STATE, else src/recheck/state-file.ts's defaultStatePath(), chosen by the command.
  state: { type: 'string' },
  task: { type: 'string' },
  json: { type: 'boolean', default: false },
  replay: { type: 'boolean', default: false },
  'allow-unlogged-tasks': { type: 'boolean', default: false },
  concurrency: { type: 'string', default: '4' },
  threads: { type: 'string' },
  help: { type: 'boolean', default: false },
} as const;

/** A claim id on the command line: 64 lowercase hex. */
export const CLAIM_ID = /^[0-9a-f]{64}$/;

/** `--concurrency` as a number, or null outside 1 to 64. */
export function concurrencyOf(text: string): number | null {
  const n = Number(text);
  return Number.isInteger(n) && n >= 1 && n <= 64 ? n : null;
}
