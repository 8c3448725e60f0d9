// Per-check results of a re-check and their text form. A check that fails names what was tampered with.
import { toInertText } from '../attest/inert-text.ts';
export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip';
export type Check = { id: string; status: CheckStatus; detail: string };

export const pass = (id: string, detail: string): Check => ({ id, status: 'pass', detail });
export const fail = (id: string, detail: string): Check => ({ id, status: 'fail', detail });
export const warn = (id: string, detail: string): Check => ({ id, status: 'warn', detail });
export const skip = (id: string, detail: string): Check => ({ id, status: 'skip', detail });

export const failed = (checks: readonly Check[]) => checks.some((c) => c.status === 'fail');

export type ClaimReport = { claimId: string; ok: boolean; checks: Check[] };

export type RecheckReport = {
  server: string;
  ok: boolean;
  checkpoint: { size: number; rootHash: string } | null;
  log: Check[];
  claims: ClaimReport[];
};

const MARK: Record<CheckStatus, string> = { pass: 'ok  ', fail: 'FAIL', warn: 'WARN', skip: 'skip' };

/**
 * The report as terminal text. Every detail may quote what a server or a job wrote (a verdict's rule holds a job's
 * stderr): it is printed inert, so no escape sequence repaints the reader's terminal and no newline forges a line.
 */
export function formatReport(report: RecheckReport, verbose = true): string {
  const lines = [`recheck of ${toInertText(report.server)}`];
  if (report.checkpoint) lines.push(`log checkpoint: size ${report.checkpoint.size}, root ${report.checkpoint.rootHash}`);
  for (const c of report.log) lines.push(`  ${MARK[c.status]} ${c.id}: ${toInertText(c.detail)}`);
  for (const claim of report.claims) {
    if (!verbose && claim.ok && !claim.checks.some((c) => c.status === 'warn')) continue;
    lines.push(`claim ${toInertText(claim.claimId)}: ${claim.ok ? 'ok' : 'DISCREPANCY'}`);
    for (const c of claim.checks) lines.push(`  ${MARK[c.status]} ${c.id}: ${toInertText(c.detail)}`);
  }
  const bad = report.claims.filter((c) => !c.ok).length;
  const logBad = failed(report.log);
  lines.push(
    report.ok
      ? `all checks passed (${report.claims.length} claim${report.claims.length === 1 ? '' : 's'})`
      : `DISCREPANCIES: ${logBad ? 'the log, ' : ''}${bad} of ${report.claims.length} claim(s)`,
  );
  return `${lines.join('\n')}\n`;
}
