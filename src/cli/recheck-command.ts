// `proofboard recheck`: re-checks claims on this machine, trusting nobody (docs/recheck.md). Exit 0 when every check
// passes, 1 on any discrepancy, 2 on a usage error.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SingleBar, Presets } from 'cli-progress';
import { apiFetcher } from './http-client.ts';
import { repositoryPins } from '../recheck/pins.ts';
import { recheck, type RecheckTarget } from '../recheck/recheck.ts';
import { formatReport, type Check } from '../recheck/report.ts';
import { defaultStatePath, readState, writeState } from '../recheck/state-file.ts';
import type { ClaimBundle } from '../recheck/bundle.ts';
import { shutdownZk } from '../zk/snarkjs-wrapper.ts';
import { serverUrlFromEnv } from '../config.ts';

export const HELP = `proofboard recheck CLAIM_ID... --server URL [--log-key VKEY] [--state FILE] [--json] [--replay]
proofboard recheck --task TASK --server URL [...]

Downloads each claim's bundle and the log checkpoint and checks everything locally: the submitter's signature,
every proof (keys compared with the hashes in this repository), every attestation against the registry and the
task policy, the verdict's rule, the log leaf and its inclusion in the signed checkpoint, and consistency with the
last checkpoint seen (kept in --state, default ${defaultStatePath()}).

  --log-key VKEY   the log's C2SP verifier key, from a source other than the server (else trust on first use)
  --task TASK      every leaderboard entry of TASK, and every claim the log shows verified for it
  --json           one JSON report on stdout
  --replay         also re-run each claim in a local sandbox (when this checkout has the replay worker)
  --concurrency N  bundles checked at once (default 4)`;

const REPLAY_MODULE = fileURLToPath(new URL('./recheck-replay.ts', import.meta.url));

export async function recheckCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      server: { type: 'string', default: serverUrlFromEnv() },
      'log-key': { type: 'string' },
      state: { type: 'string', default: process.env.PROOFBOARD_RECHECK_STATE ?? defaultStatePath() },
      task: { type: 'string' },
      json: { type: 'boolean', default: false },
      replay: { type: 'boolean', default: false },
      concurrency: { type: 'string', default: '4' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const claimIds = positionals;
  if ((claimIds.length === 0) === !values.task || claimIds.some((id) => !/^[0-9a-f]{64}$/.test(id))) {
    console.error(`proofboard recheck: name claim ids (64 lowercase hex) or --task TASK, not both\n\n${HELP}`);
    return 2;
  }
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    console.error('proofboard recheck: --concurrency must be 1 to 64');
    return 2;
  }
  const target: RecheckTarget = values.task ? { taskId: values.task } : { claimIds };
  const state = readState(values.state);
  const showProgress = Boolean(values.task) && !values.json && process.stderr.isTTY;
  const bar = new SingleBar({ format: 'recheck [{bar}] {value}/{total} entries {eta_formatted} left', stream: process.stderr }, Presets.shades_classic);
  let started = false;
  try {
    const { report, state: next } = await recheck(apiFetcher(values.server), target, {
      server: values.server,
      pinnedVkey: values['log-key'],
      state,
      pins: repositoryPins(),
      replayRequested: values.replay,
      replay: values.replay ? await loadReplay(values.server) : null,
      now: new Date(),
      concurrency,
      onProgress: showProgress
        ? (done, total) => {
            if (!started) bar.start(total, done);
            started = true;
            bar.update(done);
          }
        : undefined,
    });
    if (started) bar.stop();
    writeState(values.state, next);
    if (values.json) console.log(JSON.stringify(report, null, 2));
    else {
      const tofu = report.log.find((c) => c.id === 'log.key' && c.status === 'warn');
      if (tofu) console.error(`\n!!! ${tofu.detail}\n`);
      process.stdout.write(formatReport(report, !values.task));
    }
    return report.ok ? 0 : 1;
  } finally {
    if (started) bar.stop();
    await shutdownZk();
  }
}

/**
 * The local replay, when the sandbox worker is part of this checkout. It is never faked: without the worker the
 * report says "replay not available" and the check is skipped, not passed.
 */
async function loadReplay(server: string): Promise<((bundle: ClaimBundle) => Promise<Check>) | null> {
  if (!existsSync(REPLAY_MODULE)) return null;
  const mod = (await import(REPLAY_MODULE)) as { runReplayForRecheck?: (b: ClaimBundle, o: { server: string }) => Promise<Check> };
  const run = mod.runReplayForRecheck;
  if (typeof run !== 'function') return null;
  return (bundle) => run(bundle, { server });
}
