// The re-check engine: downloads what it needs over HTTP and checks it with the pure libraries (src/log,
// src/attest, src/zk). It never imports the service or the database, so a third party runs exactly this.
import { toBase64, utf8 } from '../attest/bytes.ts';
import { hashLeaf, rootFromLeafHashes, verifyCheckpoint, equalHashes, type Checkpoint, type WitnessPolicy } from '../log/index.ts';
import type { Groth16Checker } from '../zk/groth16-batch.ts';
import { bundleSchema, leaderboardSchema, logEntriesSchema, type ClaimBundle } from './bundle.ts';
import { checkClaimBundle } from './check-claim.ts';
import { checkConsistency, checkWitnesses, establishLog, type TrustedLog } from './check-log.ts';
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
  /** Bundles fetched one by one at once (a task's bundles come in one streamed answer when the server has bulk reads). */
  concurrency?: number;
  /**
   * How the pairing checks of a claim's proofs run: a pooled checker (src/zk/batch-verifier.ts) checks the proofs of
   * all claims in flight together, as the service does at intake; by default each claim's alone.
   */
  checkProofs?: Groth16Checker;
  onProgress?: (done: number, total: number) => void;
  /** Witnesses the reader pins (--witness, --witnesses-needed): checkpoints relied on need that many cosignatures. */
  witnesses?: WitnessPolicy | undefined;
  /** Accept a task without a logged definition with a warning instead of a failure (--allow-unlogged-tasks). */
  allowUnloggedTasks?: boolean;
  /**
   * Work to start once the first requests are on their way, so that it runs while their answers are awaited (the CLI
   * prepares the pinned keys' pairings there). It must not throw, and nothing waits for it.
   */
  whileWaiting?: () => void;
};

export type RecheckTarget = { claimIds: string[] } | { taskId: string };

/** Returns the report and the state to save: a failing log check leaves the remembered checkpoint untouched. */
export async function recheck(fetcher: Fetcher, target: RecheckTarget, opts: RecheckOptions): Promise<{ report: RecheckReport; state: RecheckState }> {
  const key = serverKey(opts.server);
  const remembered = opts.state.servers[key];
  const concurrency = Math.max(1, opts.concurrency ?? 4);
  const established = establishLog(fetcher, { pinnedVkey: opts.pinnedVkey, remembered, witnesses: opts.witnesses, now: opts.now });
  // The first named claims' bundles are asked for together with the checkpoint, not after it: a cold re-check of one
  // entry waits for one round trip instead of two. Nothing in them is looked at before the log is established.
  const early = new Map(('claimIds' in target ? target.claimIds.slice(0, concurrency) : []).map((id) => [id, fetchBundle(fetcher, id)]));
  // setImmediate: after this turn's connections are made and the requests written, not before.
  if (opts.whileWaiting) setImmediate(opts.whileWaiting);
  const { checks: logChecks, log } = await established;
  const report: RecheckReport = {
    server: opts.server,
    ok: false,
    checkpoint: log ? { size: log.latest.size, rootHash: toBase64(log.latest.rootHash) } : null,
    log: logChecks,
    claims: [],
  };
  if (!log) {
    await Promise.all(early.values());
    return { report, state: opts.state };
  }

  const consistency = new Map<string, Promise<Check>>();
  const notes = new Map<string, ReturnType<typeof verifyCheckpoint>>();
  let registrySnapshot: RecheckState['servers'][string]['registry'];
  // Each task's policy as seen in this run's bundles, and whether any claim found it changed.
  const taskPolicies = new Map<string, { policy: unknown; changed: boolean }>();
  // Each claim's task and the definition entry its bundle names: held, after the run, to one entry per task.
  const definitionNamed = new Map<string, { taskId: string; entry: number | null }>();
  const results = new Map<string, ClaimReport>();
  let total = 'taskId' in target ? 0 : target.claimIds.length;
  opts.onProgress?.(0, total);
  const record = (claimId: string, checked: { checks: Check[]; bundle?: ClaimBundle }) => {
    const { checks, bundle } = checked;
    // Only what was compared with the remembered state is remembered in its place.
    const compared = (id: string) => checks.find((k) => k.id === id);
    if (bundle && !registrySnapshot && compared('registry.history')) registrySnapshot = snapshotRegistry(bundle.verifierKeys);
    const policyCheck = compared('task.policy');
    if (bundle && policyCheck) {
      const task = bundle.task;
      const changed = policyCheck.status === 'fail' || (taskPolicies.get(task.id)?.changed ?? false);
      taskPolicies.set(task.id, { policy: task.policy, changed });
    }
    if (bundle) definitionNamed.set(claimId, { taskId: bundle.task.id, entry: bundle.task.definitionLogIndex ?? null });
    results.set(claimId, { claimId, ok: !failed(checks), checks });
    opts.onProgress?.(results.size, Math.max(total, results.size));
  };
  const checkOne = async (claimId: string, bundle: ClaimBundle) =>
    record(claimId, await checkBundle(fetcher, claimId, bundle, log, opts, consistency, notes, remembered));

  // Checks run while bundles still arrive, up to CHECKS_IN_FLIGHT at once: the claims in flight are the ones whose
  // proofs a pooled checker verifies together.
  const inFlight = new Set<Promise<void>>();
  const launch = async (claimId: string, bundle: ClaimBundle) => {
    while (inFlight.size >= CHECKS_IN_FLIGHT) await Promise.race(inFlight);
    const run = checkOne(claimId, bundle).finally(() => inFlight.delete(run));
    inFlight.add(run);
  };

  let claimIds: string[];
  const streamed = new Set<string>();
  let loggedDefinitions: { taskId: string; entries: number[] } | null = null;
  if ('taskId' in target) {
    // The log walk (which claims the log shows verified) and the task's bundles, streamed, at the same time.
    const bulk = fetcher.lines
      ? (await import('./bulk.ts')).readBulkBundles(fetcher.lines(`/v1/tasks/${encodeURIComponent(target.taskId)}/bundles`), async (bundle) => {
          if (results.has(bundle.claim.id) || streamed.has(bundle.claim.id)) return;
          streamed.add(bundle.claim.id);
          await launch(bundle.claim.id, bundle);
        })
      : Promise.resolve(null);
    const [listed, bulkCheck] = await Promise.all([listTaskClaims(fetcher, target.taskId, log), bulk]);
    report.log.push(...listed.checks);
    if (bulkCheck) report.log.push(bulkCheck);
    loggedDefinitions = { taskId: target.taskId, entries: listed.definitionEntries };
    // Claims the server's bulk answer left out are checked too, and so is every claim it served: a claim shown
    // verified without a logged verdict fails its own checks.
    claimIds = [...new Set([...listed.claimIds, ...streamed])];
  } else claimIds = target.claimIds;
  total = claimIds.length;

  // Whatever did not come in bulk: one bundle per request, `concurrency` requests at once.
  const single = claimIds.filter((id) => !streamed.has(id));
  let next = 0;
  const fetchWorker = async () => {
    while (next < single.length) {
      const claimId = single[next++]!;
      const asked = early.get(claimId);
      early.delete(claimId);
      const got = await (asked ?? fetchBundle(fetcher, claimId));
      if ('error' in got) record(claimId, { checks: [fail('bundle', got.error)] });
      else await launch(claimId, got.bundle);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, single.length) }, fetchWorker));
  while (inFlight.size) await Promise.race(inFlight);
  const definitions = checkDefinitionEntries(claimIds, definitionNamed, loggedDefinitions, remembered?.tasks);
  for (const [claimId, check] of definitions.checks) {
    const r = results.get(claimId)!;
    r.checks.push(check);
    r.ok = !failed(r.checks);
  }
  report.claims = claimIds.map((id) => results.get(id)!);
  report.ok = !failed(report.log) && report.claims.every((c) => c.ok);

  const logOk = !failed(report.log);
  const registryOk = !report.claims.some((c) => c.checks.some((k) => k.id === 'registry.history' && k.status === 'fail'));
  const nowIso = opts.now.toISOString();
  // A changed policy is not remembered: the next run compares with the one first seen, and fails again.
  const tasks = { ...remembered?.tasks };
  for (const [taskId, t] of taskPolicies) if (!t.changed) tasks[taskId] = snapshotTask(t.policy, nowIso);
  // A task's definition entry, once agreed on by everything this run saw, is remembered; a conflict is not.
  for (const [taskId, entry] of definitions.agreed) if (tasks[taskId]) tasks[taskId] = { ...tasks[taskId]!, definitionEntry: entry };
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

/** Bundles whose checks may run at once: bounds memory, and is the most claims one pooled pairing check can take. */
const CHECKS_IN_FLIGHT = 128;

/** One claim's bundle, or why there is none (the `bundle` check's failure): never a rejected promise. */
async function fetchBundle(fetcher: Fetcher, claimId: string): Promise<{ bundle: ClaimBundle } | { error: string }> {
  try {
    return { bundle: await fetcher.json(`/v1/claims/${encodeURIComponent(claimId)}/bundle`, bundleSchema) };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

async function checkBundle(
  fetcher: Fetcher,
  claimId: string,
  bundle: ClaimBundle,
  log: TrustedLog,
  opts: RecheckOptions,
  consistency: Map<string, Promise<Check>>,
  notes: Map<string, ReturnType<typeof verifyCheckpoint>>,
  remembered: RecheckState['servers'][string] | undefined,
): Promise<{ checks: Check[]; bundle?: ClaimBundle }> {
  const checks: Check[] = [];
  // The bundle's checkpoint must be signed by the log key and be the same tree as, or a prefix of, the latest. The
  // bundles of one bulk answer share one checkpoint note: its signature is checked once.
  let cp = notes.get(bundle.log.checkpoint);
  if (!cp) notes.set(bundle.log.checkpoint, (cp = verifyCheckpoint(bundle.log.checkpoint, log.key)));
  if (!cp.ok) return { checks: [fail('log.bundle-checkpoint', `the bundle's checkpoint does not verify: ${cp.reason}`)], bundle };
  const pairKey = `${cp.checkpoint.size}:${toBase64(cp.checkpoint.rootHash)}`;
  let pending = consistency.get(pairKey);
  if (!pending) {
    pending = orderedConsistency(fetcher, cp.checkpoint, bundle.log.checkpoint, log);
    consistency.set(pairKey, pending);
  }
  const c = await pending;
  checks.push({ ...c, id: 'log.bundle-checkpoint' });
  // A bundle's checkpoint beyond the witnessed one is covered by no witness: it must carry its own cosignatures.
  if (opts.witnesses && cp.checkpoint.size > log.latest.size) checks.push(checkWitnesses(bundle.log.checkpoint, opts.witnesses, opts.now, 'log.bundle-witnesses'));
  checks.push(...(await checkClaimBundle({ claimId, bundle, checkpoint: cp.checkpoint, pins: opts.pins, checkProofs: opts.checkProofs, allowUnloggedTasks: opts.allowUnloggedTasks })));
  checks.push(checkRegistryHistory(bundle.verifierKeys, remembered?.registry, remembered?.registrySeenAt, opts.now));
  checks.push(checkTaskPolicy(bundle.task.id, bundle.task.policy, remembered?.tasks?.[bundle.task.id]));
  if (opts.replayRequested) {
    // The replay runs the task's harness and training command on this machine: only the ones the log defined.
    const definition = checks.find((c) => c.id === 'task.definition');
    if (definition?.status !== 'pass') checks.push(skip('replay', `not run: the task's definition did not check out (task.definition ${definition?.status ?? 'missing'})`));
    else checks.push(opts.replay ? await opts.replay(bundle) : skip('replay', 'replay not available: this checkout has no replay worker (src/replay/run-job.ts)'));
  }
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
async function listTaskClaims(fetcher: Fetcher, taskId: string, log: TrustedLog): Promise<{ claimIds: string[]; checks: Check[]; definitionEntries: number[] }> {
  const checks: Check[] = [];
  const board = await fetcher.json(`/v1/tasks/${encodeURIComponent(taskId)}/leaderboard`, leaderboardSchema);
  const latestStatus = new Map<string, string>();
  const definitionEntries: number[] = [];
  const leafHashes: Uint8Array[] = [];
  const PAGE = 1000;
  let gap = false;
  for (let start = 0; start < log.latest.size; start += PAGE) {
    const page = await fetcher.json(`/v1/log/entries?start=${start}&end=${Math.min(start + PAGE, log.latest.size)}`, logEntriesSchema);
    for (const e of page.entries) {
      if (e.index !== leafHashes.length) gap = true;
      leafHashes.push(hashLeaf(utf8(e.data)));
      let record: { task?: unknown; claim?: unknown; status?: unknown; kind?: unknown } = {};
      try {
        record = JSON.parse(e.data) as typeof record;
      } catch {
        // Not a verdict record: still hashed into the root check below, but it names no claim to list.
      }
      if (record.task === taskId && typeof record.claim === 'string' && typeof record.status === 'string') latestStatus.set(record.claim, record.status);
      if (record.task === taskId && record.kind === 'task-definition') definitionEntries.push(e.index);
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
  // A task is registered once: two definitions in the log would let a bundle pick the one it is judged against.
  checks.push(
    definitionEntries.length > 1
      ? fail('task.definitions', `task ${taskId} is defined ${definitionEntries.length} times in the log (entries ${definitionEntries.join(', ')}); a task is registered once`)
      : definitionEntries.length === 1
        ? pass('task.definitions', `task ${taskId} is defined once in the log, at entry ${definitionEntries[0]}`)
        : warn('task.definitions', `task ${taskId} has no definition in the log (registered before definitions were logged)`),
  );
  return { claimIds: [...new Set([...onBoard, ...verifiedInLog])], checks, definitionEntries };
}

/**
 * One definition entry per task across everything this run saw: the log walk (--task), an earlier visit (the state
 * file), and every bundle of the run. A bundle that names another entry than the others (or none, where one is
 * known) fails `task.definition.entry`: a server cannot judge one claim against a second definition of its task.
 */
function checkDefinitionEntries(
  claimIds: readonly string[],
  named: ReadonlyMap<string, { taskId: string; entry: number | null }>,
  logged: { taskId: string; entries: number[] } | null,
  remembered: Record<string, { definitionEntry?: number | undefined; seenAt: string }> | undefined,
): { checks: Map<string, Check>; agreed: Map<string, number> } {
  const id = 'task.definition.entry';
  const known = new Map<string, { entry: number; source: string }>();
  for (const [taskId, t] of Object.entries(remembered ?? {})) if (t.definitionEntry !== undefined) known.set(taskId, { entry: t.definitionEntry, source: `our visit of ${t.seenAt}` });
  if (logged && logged.entries.length === 1) known.set(logged.taskId, { entry: logged.entries[0]!, source: 'the log walk' });
  const checks = new Map<string, Check>();
  const conflicted = new Set<string>();
  const seen = new Map<string, Set<number | null>>();
  for (const claimId of claimIds) {
    const n = named.get(claimId);
    if (n) seen.set(n.taskId, (seen.get(n.taskId) ?? new Set()).add(n.entry));
  }
  for (const claimId of claimIds) {
    const n = named.get(claimId);
    if (!n) continue;
    const k = known.get(n.taskId);
    const others = [...(seen.get(n.taskId) ?? [])].filter((e) => e !== n.entry);
    if (k && k.entry !== n.entry) {
      conflicted.add(n.taskId);
      checks.set(claimId, fail(id, `the bundle names entry ${n.entry ?? 'none'} for task ${n.taskId}'s definition, but entry ${k.entry} per ${k.source}`));
    } else if (others.length > 0) {
      conflicted.add(n.taskId);
      checks.set(claimId, fail(id, `the bundle names entry ${n.entry ?? 'none'} for task ${n.taskId}'s definition, but other bundles of this run name ${others.map((e) => e ?? 'none').join(', ')}`));
    } else if (k) checks.set(claimId, pass(id, `entry ${k.entry}, as per ${k.source}`));
    else checks.set(claimId, skip(id, `first sight of task ${n.taskId}'s definition entry (${n.entry ?? 'none'}): remembered for next time`));
  }
  const agreed = new Map<string, number>();
  for (const [taskId, entries] of seen) {
    const [only] = [...entries];
    if (!conflicted.has(taskId) && entries.size === 1 && typeof only === 'number') agreed.set(taskId, only);
  }
  return { checks, agreed };
}

