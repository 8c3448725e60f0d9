// `proofboard recheck`: re-checks claims on this machine, trusting nobody (docs/recheck.md). Exit 0 when every check
// passes, 1 on any discrepancy, 2 on a usage error.
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import type { Worker } from 'node:worker_threads';
import { apiFetcher } from './http-client.ts';
import { CLAIM_ID, concurrencyOf, RECHECK_OPTIONS } from './recheck-options.ts';
import { repositoryPins, type PinnedCircuit } from '../recheck/pins.ts';
import { recheck, type RecheckTarget } from '../recheck/recheck.ts';
import { formatReport, type Check } from '../recheck/report.ts';
import { defaultStatePath, readState, writeState } from '../recheck/state-file.ts';
import type { ClaimBundle } from '../recheck/bundle.ts';
import { createBatchVerifier } from '../zk/batch-verifier.ts';
import { verifyGroth16Groups } from '../zk/groth16-batch.ts';
import { warmUpZk } from '../zk/groth16-pairing.ts';
import { createPairingThreads, PairingThreadFault } from '../zk/pairing-thread.ts';
import { parseCosignerKey, parseVerifierKey, type WitnessPolicy } from '../log/index.ts';

export const HELP = `proofboard recheck CLAIM_ID... --server URL [--log-key VKEY] [--state FILE] [--json] [--replay]
proofboard recheck --task TASK --server URL [...]

Downloads each claim's bundle and the log checkpoint and checks everything locally: the submitter's signature,
every proof (keys compared with the hashes in this repository), every attestation against the registry and the
task policy, the verdict's rule, the log leaf and its inclusion in the signed checkpoint, and consistency with the
last checkpoint seen (kept in --state, default ${defaultStatePath()}).

  --log-key VKEY   the log's C2SP verifier key, from a source other than the server (else trust on first use)
  --witness VKEY   a witness's cosigner key (C2SP tlog-cosignature vkey) to pin; repeat for each witness. The
                   checkpoint relied on is then the latest one they cosigned (docs/transparency-log.md)
  --witnesses-needed K  how many of the pinned witnesses must have cosigned it (default: all of them)
  --task TASK      every leaderboard entry of TASK, and every claim the log shows verified for it
  --json           one JSON report on stdout
  --replay         also re-run each claim in a local sandbox (when this checkout has the replay worker)
  --allow-unlogged-tasks  accept, with a warning, a task with no logged definition (one registered by a build
                   older than logged definitions); by default its claims fail task.definition
  --concurrency N  bundles fetched at once when they come one by one (default 4; --task reads them in bulk)
  --threads N      pairing threads checking proofs beside the main thread (default: one per spare core, at
                   most 4, with --task; 0 with claim ids); 0 checks them on the main thread

The proofs of all claims in flight are checked together, with one pooled pairing check (as the service does at
intake).`;

/** What the one-file build (src/cli/recheck-one-file.ts) replaces: the pins it carries, how it starts a thread. */
export type RecheckEnvironment = {
  pins?: Map<string, PinnedCircuit>;
  spawnPairingThread?: () => Worker;
  /**
   * The local replay for --replay (src/cli/recheck-replay-loader.ts, which `proofboard recheck` passes). Absent in the
   * one-file build, which has no sandbox: --replay then reports each claim's replay as not available.
   */
  loadReplay?: (server: string) => Promise<((bundle: ClaimBundle) => Promise<Check>) | null>;
  /** The fetch under recheck's HTTP client (the one-file build's loads faster than Node's own). */
  fetchImpl?: typeof fetch;
  /**
   * True where loading the pins costs next to nothing (the one-file build's, written in at build time): when proofs
   * are checked on this thread, the pinned keys are then prepared for pairing while the first answers are awaited,
   * rather than after the first proof is met. Same keys, same checks; only the order of the work changes.
   */
  prepareKeysEarly?: boolean;
};

export async function recheckCommand(argv: string[], env: RecheckEnvironment = {}): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: RECHECK_OPTIONS });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const claimIds = positionals;
  if ((claimIds.length === 0) === !values.task || claimIds.some((id) => !CLAIM_ID.test(id))) {
    console.error(`proofboard recheck: name claim ids (64 lowercase hex) or --task TASK, not both\n\n${HELP}`);
    return 2;
  }
  // A mistyped key is the command line's fault, not the server's: refuse it here rather than report a discrepancy.
  const logKey = values['log-key'] === undefined ? null : parseVerifierKey(values['log-key']);
  if (logKey && !logKey.ok) {
    console.error(`proofboard recheck: --log-key is not a C2SP verifier key (${logKey.detail}); copy it as \`proofboard serve\` printed it: name+hexid+base64\n\n${HELP}`);
    return 2;
  }
  const concurrency = concurrencyOf(values.concurrency);
  if (concurrency === null) {
    console.error('proofboard recheck: --concurrency must be 1 to 64');
    return 2;
  }
  const spare = Math.min(4, availableParallelism() - 1);
  const threads = values.threads === undefined ? (values.task ? Math.max(0, spare) : 0) : Number(values.threads);
  if (!Number.isInteger(threads) || threads < 0 || threads > 64) {
    console.error('proofboard recheck: --threads must be 0 to 64');
    return 2;
  }
  const witnesses = witnessPolicy(values.witness ?? [], values['witnesses-needed']);
  if (typeof witnesses === 'string') {
    console.error(`proofboard recheck: ${witnesses}`);
    return 2;
  }
  const target: RecheckTarget = values.task ? { taskId: values.task } : { claimIds };
  const pins = env.pins ?? repositoryPins();
  const pooled = pooledChecker(threads, env.spawnPairingThread);
  const statePath = values.state ?? process.env.PROOFBOARD_RECHECK_STATE ?? defaultStatePath();
  const state = readState(statePath);
  const showProgress = Boolean(values.task) && !values.json && process.stderr.isTTY;
  // Loaded only for the bar it draws: a re-check of named claims has none, and starts without it.
  const bar = showProgress ? await progressBar() : undefined;
  let started = false;
  try {
    const { report, state: next } = await recheck(apiFetcher(values.server, env.fetchImpl), target, {
      server: values.server,
      pinnedVkey: values['log-key'],
      witnesses,
      state,
      pins,
      replayRequested: values.replay,
      replay: values.replay && env.loadReplay ? await env.loadReplay(values.server) : null,
      allowUnloggedTasks: values['allow-unlogged-tasks'],
      now: new Date(),
      concurrency,
      checkProofs: pooled.check,
      whileWaiting: env.prepareKeysEarly && threads === 0 ? () => prepareKeys(pins) : undefined,
      onProgress: bar
        ? (done, total) => {
            if (!started) bar.start(total, done);
            started = true;
            bar.update(done);
          }
        : undefined,
    });
    if (started) bar?.stop();
    writeState(statePath, next);
    if (values.json) console.log(JSON.stringify(report, null, 2));
    else {
      const tofu = report.log.find((c) => c.id === 'log.key' && c.status === 'warn');
      if (tofu) console.error(`\n!!! ${tofu.detail}\n`);
      process.stdout.write(formatReport(report, !values.task));
    }
    return report.ok ? 0 : 1;
  } finally {
    if (started) bar?.stop();
    await pooled.close();
  }
}

async function progressBar() {
  const { SingleBar, Presets } = await import('cli-progress');
  return new SingleBar({ format: 'recheck [{bar}] {value}/{total} entries {eta_formatted} left', stream: process.stderr }, Presets.shades_classic);
}

/** The pinned witnesses and k, or a usage error. */
function witnessPolicy(vkeys: string[], needed: string | undefined): WitnessPolicy | undefined | string {
  if (vkeys.length === 0) return needed === undefined ? undefined : '--witnesses-needed needs at least one --witness';
  const keys = [];
  for (const vkey of vkeys) {
    const key = parseCosignerKey(vkey);
    if (!key.ok) return `--witness ${vkey}: not a witness vkey (${key.detail})`;
    keys.push(key.value);
  }
  const k = needed === undefined ? keys.length : Number(needed);
  if (!Number.isInteger(k) || k < 1 || k > keys.length) return `--witnesses-needed must be 1 to ${keys.length} (the number of --witness keys)`;
  return { witnesses: keys, needed: k };
}

/**
 * The pooled pairing check of src/zk/batch-verifier.ts, on `threads` pairing threads (or on this thread with 0). A
 * thread that dies is a fault, not a verdict: its proofs are checked on this thread instead, as the service does.
 */
function pooledChecker(threads: number, spawn?: () => Worker) {
  const pool = threads > 0 ? createPairingThreads(threads, spawn) : undefined;
  const verifyGroups: typeof verifyGroth16Groups = pool
    ? (circuit, groups) =>
        pool.verifyGroups(circuit, groups).catch((e: unknown) => {
          if (e instanceof PairingThreadFault) return verifyGroth16Groups(circuit, groups);
          throw e;
        })
    : verifyGroth16Groups;
  const batcher = createBatchVerifier({ verifyGroups, maxInFlight: Math.max(1, threads) });
  return {
    check: batcher.verify,
    close: async () => {
      await batcher.close();
      await pool?.close();
    },
  };
}

/**
 * Loads the pairing library and prepares each pinned key (as the first proof of its circuit would). A failure is
 * left for that proof to meet: the pin's load and the key's preparation fail again there, and are reported there.
 */
function prepareKeys(pins: ReadonlyMap<string, PinnedCircuit>): void {
  for (const pin of pins.values()) {
    pin
      .load()
      .then(({ circuit }) => warmUpZk(circuit))
      .catch(() => {});
  }
}
