// What every command shares at its edge: the documented exit codes (docs/cli.md), `--help` wherever it is asked for,
// and a usage error that names the closest option when a flag is mistyped.
import { ApiError } from './http-client.ts';

/** Exit codes of every `proofboard` command; docs/cli.md lists the same table. */
export const EXIT = {
  ok: 0,
  /** The command ran and the answer is no: the server refused, a claim was rejected, recheck found a discrepancy. */
  failed: 1,
  /** The command line is wrong; nothing was done. */
  usage: 2,
  /** No answer from the server (refused connection, DNS, timeout): nothing was decided, trying again may work. */
  unreachable: 3,
} as const;

/** A wrong command line: main prints the message, the command's usage, and exits 2. */
export class UsageError extends Error {}

/** `--help` or `-h` anywhere before a `--` (after it, arguments are positionals by convention). */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/** The long options a usage text names (`--task`, `--beats-parent`, ...), in order, without repeats. */
export function flagsOf(usage: string): string[] {
  return [...new Set(usage.match(/--[a-z][a-z0-9-]*/g) ?? [])];
}

/** The flag of the usage text closest to `typed` when it is close enough to be a typo, else null. */
export function closestFlag(typed: string, usage: string): string | null {
  const want = `--${typed.replace(/^-+/, '').split('=')[0]}`;
  let best: { flag: string; d: number } | null = null;
  for (const flag of flagsOf(usage)) {
    const d = flag.startsWith(want) && want.length >= 4 ? 0 : editDistance(want, flag);
    if (!best || d < best.d) best = { flag, d };
  }
  // Two edits cover a swapped pair, a dropped letter and a doubled one; more than that is a different word.
  return best && best.d <= Math.max(1, Math.min(2, Math.floor(want.length / 4))) ? best.flag : null;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps count one each. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The option node:util's parseArgs named in an ERR_PARSE_ARGS_UNKNOWN_OPTION message ("Unknown option '--taks'"). */
export function unknownOptionOf(err: unknown): string | null {
  if (!(err instanceof Error) || (err as { code?: string }).code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return null;
  return /option '([^']+)'/.exec(err.message)?.[1] ?? null;
}

/** One line for the person at the terminal, and the exit code docs/cli.md gives for it. */
export function reportError(name: string, usage: string, err: unknown): number {
  const typed = unknownOptionOf(err);
  if (typed !== null) {
    const guess = closestFlag(typed, usage);
    console.error(`proofboard ${name}: unknown option ${typed}${guess ? ` (did you mean ${guess}?)` : ''}\n\n${usage}`);
    return EXIT.usage;
  }
  if (err instanceof UsageError || (err instanceof Error && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))) {
    console.error(`proofboard ${name}: ${err.message}\n\n${usage}`);
    return EXIT.usage;
  }
  if (err instanceof ApiError && err.status === 0 && err.code === 'unreachable') {
    console.error(`proofboard ${name}: ${err.message}`);
    return EXIT.unreachable;
  }
  if (err instanceof ApiError && err.status > 0) console.error(`proofboard ${name}: server refused: ${err.message}`);
  else console.error(`proofboard ${name}: ${err instanceof Error ? err.message : String(err)}`);
  return EXIT.failed;
}
