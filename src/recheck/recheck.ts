// The re-check engine: downloads what it needs over HTTP and checks it with the pure libraries (src/log,
// src/attest, src/zk). It never imports the service or the database, so a third party runs exactly this.
import { toBase64, utf8 } from '../attest/bytes.ts';
import { hashLeaf, rootFromLeafHashes, verifyCheckpoint, equalHashes, type Checkpoint } from '../log/index.ts';
import { bundleSchema, leaderboardSchema, logEntriesSchema, type ClaimBundle } from './bundle.ts';
import { checkClaimBundle } from './check-claim.ts';
import { checkConsistency, establishLog, type TrustedLog } from './check-log.ts';
import type { Fetcher } from './http.ts';
import type { PinnedCircuit } from './pins.ts';
import { checkRegistryHistory, snapshotRegistry } from './registry-history.ts';
import { checkTaskPolicy, snapshotTask } from './task-history.ts';
import { fail, failed, pass, skip, warn, type Check, type ClaimReport, type RecheckReport } from './report.ts';
import { serverKey, type RecheckState } from './state-file.ts';

export type RecheckOptions = {
  server: string;
  pinnedVkey?: string | undefined;
  state: RecheckState;
  pins: ReadonlyMap<string, PinnedCircuit>;
  /** Runs a local replay of a claim; absent when this checkout has no replay worker. */
  replay?: ((bundle: ClaimBundle) => Promise<Check>) | null | undefined;
  replayRequested?: boolean;
  now: Date;
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
};

export type RecheckTarget = { claimIds: string[] } | { taskId: string };

/** Returns the report and the state to save: a failing log check leaves the remembered checkpoint untouched. */
export async function recheck(fetcher: Fetcher, target: RecheckTarget, opts: RecheckOptions): Promise<{ report: RecheckReport; state: RecheckState }> {
  const key = serverKey(opts.server);
  const remembered = opts.state.servers[key];
  const { checks: logChecks, log } = await establishLog(fetcher, { pinnedVkey: opts.pinnedVkey, remembered });
  const report: RecheckReport = {
    server: opts.server,
    ok: false,
    checkpoint: log ? { size: log.latest.size, rootHash: toBase64(log.latest.rootHash) } : null,
    log: logChecks,
    claims: [],
  };
  if (!log) return { report, state: opts.state };

  let claimIds: string[];
  if ('taskId' in target) {
    const listed = await listTaskClaims(fetcher, target.taskId, log);
    report.log.push(...listed.checks);
    claimIds = listed.claimIds;
  } else claimIds = target.claimIds;

  const consistency = new Map<string, Promise<Check>>();
  let registrySnapshot: RecheckState['servers'][string]['registry'];
  // Each task's policy as seen in this run's bundles, and whether any claim found it changed.
  const taskPolicies = new Map<string, { policy: unknown; changed: boolean }>();
  let done = 0;
  opts.onProgress?.(0, claimIds.length);
  const results: ClaimReport[] = new Array(claimIds.length);
  let next = 0;
  const worker = async () => {
    while (next < claimIds.length) {
      const i = next++;
      const claimId = claimIds[i]!;
      const checks = await recheckOne(fetcher, claimId, log, opts, consistency, remembered);
      // Only what was compared with the remembered state is remembered in its place.
      const compared = (id: string) => checks.checks.find((k) => k.id === id);
      if (checks.bundle && !registrySnapshot && compared('registry.history')) registrySnapshot = snapshotRegistry(checks.bundle.verifierKeys);
      const policyCheck = compared('task.policy');
      if (checks.bundle && policyCheck) {
        const task = checks.bundle.task;
        const changed = policyCheck.status === 'fail' || (taskPolicies.get(task.id)?.changed ?? false);
        taskPolicies.set(task.id, { policy: task.policy, changed });
      }
      results[i] = { claimId, ok: !failed(checks.checks), checks: checks.checks };
      opts.onProgress?.(++done, claimIds.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 4, claimIds.length)) }, worker));
  report.claims = results;
  report.ok = !failed(report.log) && report.claims.every((c) => c.ok);

  const logOk = !failed(report.log);
  const registryOk = !report.claims.some((c) => c.checks.some((k) => k.id === 'registry.history' && k.status === 'fail'));
  const nowIso = opts.now.toISOString();
  // A changed policy is not remembered: the next run compares with the one first seen, and fails again.
  const tasks = { ...remembered?.tasks };
  for (const [taskId, t] of taskPolicies) if (!t.changed) tasks[taskId] = snapshotTask(t.policy, nowIso);
  const state: RecheckState = {
    v: 1,
    servers: {
      ...opts.state.servers,
      [key]: {
        ...remembered,
        vkey: log.vkey,
        ...(logOk ? { checkpoint: log.latestNote, checkpointSeenAt: nowIso } : {}),
        ...(registryOk && registrySnapshot ? { registry: registrySnapshot, registrySeenAt: nowIso } : {}),
        ...(Object.keys(tasks).length ? { tasks } : {}),
      },
    },
  };
  return { report, state };
}

async function recheckOne(
  fetcher: Fetcher,
  claimId: string,
  log: TrustedLog,
  opts: RecheckOptions,
  consistency: Map<string, Promise<Check>>,
  remembered: RecheckState['servers'][string] | undefined,
): Promise<{ checks: Check[]; bundle?: ClaimBundle }> {
  let bundle: ClaimBundle;
  try {
    bundle = await fetcher.json(`/v1/claims/${encodeURIComponent(claimId)}/bundle`, bundleSchema);
  } catch (e) {
    return { checks: [fail('bundle', e instanceof Error ? e.message : String(e))] };
  }
  const checks: Check[] = [];
  // The bundle's checkpoint must be signed by the log key and be the same tree as, or a prefix of, the latest.
  const cp = verifyCheckpoint(bundle.log.checkpoint, log.key);
  if (!cp.ok) return { checks: [fail('log.bundle-checkpoint', `the bundle's checkpoint does not verify: ${cp.reason}`)], bundle };
  const pairKey = `${cp.checkpoint.size}:${toBase64(cp.checkpoint.rootHash)}`;
  let pending = consistency.get(pairKey);
  if (!pending) {
    pending = orderedConsistency(fetcher, cp.checkpoint, bundle.log.checkpoint, log);
    consistency.set(pairKey, pending);
  }
  const c = await pending;
  checks.push({ ...c, id: 'log.bundle-checkpoint' });
  checks.push(...(await checkClaimBundle({ claimId, bundle, checkpoint: cp.checkpoint, pins: opts.pins })));
  checks.push(checkRegistryHistory(bundle.verifierKeys, remembered?.registry, remembered?.registrySeenAt, opts.now));
  checks.push(checkTaskPolicy(bundle.task.id, bundle.task.policy, remembered?.tasks?.[bundle.task.id]));
  if (opts.replayRequested) checks.push(opts.replay ? await opts.replay(bundle) : skip('replay', 'replay not available: this checkout has no replay worker (src/replay/run-job.ts)'));
  return { checks, bundle };
}

function orderedConsistency(fetcher: Fetcher, cp: Checkpoint, note: string, log: TrustedLog): Promise<Check> {
  return cp.size <= log.latest.size
    ? checkConsistency(fetcher, cp, log.latest, note, log.latestNote)
    : checkConsistency(fetcher, log.latest, cp, log.latestNote, note);
}

/**
 * The claims of a task to re-check: the leaderboard's entries, plus every claim whose latest logged verdict is
 * "verified" (walking the whole log, whose leaves must rebuild the signed root: a leaf removed or edited shows here).
 */
async function listTaskClaims(fetcher: Fetcher, taskId: string, log: TrustedLog): Promise<{ claimIds: string[]; checks: Check[] }> {
  const checks: Check[] = [];
  const board = await fetcher.json(`/v1/tasks/${encodeURIComponent(taskId)}/leaderboard`, leaderboardSchema);
  const latestStatus = new Map<string, string>();
  const leafHashes: Uint8Array[] = [];
  const PAGE = 1000;
  let gap = false;
  for (let start = 0; start < log.latest.size; start += PAGE) {
    const page = await fetcher.json(`/v1/log/entries?start=${start}&end=${Math.min(start + PAGE, log.latest.size)}`, logEntriesSchema);
    for (const e of page.entries) {
      if (e.index !== leafHashes.length) gap = true;
      leafHashes.push(hashLeaf(utf8(e.data)));
      let record: { task?: unknown; claim?: unknown; status?: unknown } = {};
      try {
        record = JSON.parse(e.data) as typeof record;
      } catch {
        // Not a verdict record: still hashed into the root check below, but it names no claim to list.
      }
      if (record.task === taskId && typeof record.claim === 'string' && typeof record.status === 'string') latestStatus.set(record.claim, record.status);
    }
  }
  const root = rootFromLeafHashes(leafHashes);
  checks.push(
    !gap && leafHashes.length === log.latest.size && equalHashes(root, log.latest.rootHash)
      ? pass('log.entries', `all ${leafHashes.length} entries rebuild the signed root`)
      : fail('log.entries', `the entries served (${leafHashes.length}${gap ? ', with gaps' : ''}) do not rebuild the signed root of size ${log.latest.size}: a leaf was removed or edited`),
  );
  const verifiedInLog = [...latestStatus].filter(([, s]) => s === 'verified').map(([id]) => id);
  const onBoard = board.entries.map((e) => e.claimId);
  const notVerified = onBoard.filter((id) => latestStatus.get(id) !== 'verified');
  checks.push(
    notVerified.length
      ? fail('task.leaderboard', `on the leaderboard without a logged "verified" verdict: ${notVerified.join(', ')}`)
      : pass('task.leaderboard', `${onBoard.length} leaderboard entries, each with a logged "verified" verdict`),
  );
  const hidden = verifiedInLog.filter((id) => !onBoard.includes(id));
  if (hidden.length && onBoard.length < 100) {
    checks.push(fail('task.leaderboard', `verified in the log but missing from the leaderboard: ${hidden.join(', ')}`));
  } else if (hidden.length) checks.push(warn('task.leaderboard', `${hidden.length} verified claims beyond the leaderboard's first ${onBoard.length} also re-checked`));
  return { claimIds: [...new Set([...onBoard, ...verifiedInLog])], checks };
}

