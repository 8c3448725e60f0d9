// Bulk reads of claim bundles (docs/recheck.md, "Bulk reads"): many bundles in one streamed answer, every inclusion
// proof against one checkpoint, so re-checking a board is a handful of requests instead of one per entry.
//
// The answer is NDJSON, one object a line:
//   {"kind":"head","checkpoint":NOTE,"treeSize":N,"verifierKeys":[...]}   the parts every bundle shares, once
//   {"kind":"task","task":{...},"taskLeaves":[{index,data,inclusionProof}]}   once per task, before its bundles
//   {"kind":"bundle","bundle":{claim,envelope,evidence,parent,log:{leaves}}}
//   {"kind":"end","bundles":K,"skipped":[claim ids]}
// A reader rebuilds each claim bundle (GET /v1/claims/{id}/bundle) by adding the task, the registry, the checkpoint
// and the task's leaves (definition, circuit registrations) to the bundle's leaves; both are built from the same parts (claim-bundle.ts) and test/e2e/recheck-one-file.test.ts holds them
// equal. A claim with a verdict logged after the head's checkpoint is named in `skipped`, not served with a proof the
// checkpoint cannot cover; the reader fetches it alone. Without the end line the answer was cut short, and a reader
// must not take it as complete.
//
// Work per page of claims: six queries whatever the page's size, and the inclusion proofs of the whole page from
// one read of the log's nodes (coalescingNodeReader), instead of about twelve queries per bundle.
import { and, asc, desc, eq, gte, inArray, lt } from 'drizzle-orm';
import { claims, evidence, logLeaves, replayJobs, verdicts } from '../../../db/schema.ts';
import { toBase64 } from '../../attest/bytes.ts';
import { inclusionProofFrom, type Hash, type NodeHashReader, type NodeId } from '../../log/index.ts';
import type { AppContext } from '../context.ts';
import { ServiceError } from '../errors.ts';
import { getTask, type TaskRow } from '../actions/tasks.ts';
import { listVerifierKeys } from '../actions/verifier-keys.ts';
import { dbNodeReader } from '../storage/log-store.ts';
import { latestCheckpoint, latestCosignedCheckpoint, MAX_ENTRIES_PAGE } from './log-read.ts';
import { bundleClaimPart, bundleRegistryPart, bundleTaskPart, taskLeafIndexes } from './claim-bundle.ts';
import type { ClaimView } from './read-claims.ts';

type LeafWithProof = { index: number; leafHash: string; data: string; inclusionProof: string[] };

/** Claims read and written per page: bounds the memory one answer holds at a time. */
const PAGE = 100;

export type BulkLine =
  | { kind: 'head'; checkpoint: string; treeSize: number; verifierKeys: unknown[] }
  | { kind: 'task'; task: Awaited<ReturnType<typeof bundleTaskPart>>; taskLeaves: LeafWithProof[] }
  | { kind: 'bundle'; bundle: Record<string, unknown> }
  | { kind: 'end'; bundles: number; skipped: string[] };

/** The bundles of every verified claim of a task, best first as the leaderboard ranks them (without its cap). */
export async function taskBundleSource(ctx: AppContext, taskId: string): Promise<() => AsyncGenerator<BulkLine>> {
  const task = await getTask(ctx, taskId);
  const order = task.direction === 'higher' ? desc(claims.metricValue) : asc(claims.metricValue);
  const ids = await ctx.db
    .select({ id: claims.id })
    .from(claims)
    .where(and(eq(claims.taskId, task.id), eq(claims.status, 'verified')))
    .orderBy(order, asc(claims.receivedAt), asc(claims.id));
  return () => bulkBundles(ctx, ids.map((r) => r.id));
}

/** The bundles of the claims named by log entries [start, end), each claim once, in the order of its first entry. */
export async function logRangeBundleSource(ctx: AppContext, start: number, end: number): Promise<() => AsyncGenerator<BulkLine>> {
  if (end <= start) throw new ServiceError('bad_query', 'end must be greater than start');
  if (end - start > MAX_ENTRIES_PAGE) throw new ServiceError('bad_query', `at most ${MAX_ENTRIES_PAGE} entries per request`);
  const rows = await ctx.db
    .select({ claimId: logLeaves.claimId })
    .from(logLeaves)
    .where(and(gte(logLeaves.index, start), lt(logLeaves.index, end)))
    .orderBy(asc(logLeaves.index));
  return () => bulkBundles(ctx, [...new Set(rows.map((r) => r.claimId))]);
}

async function* bulkBundles(ctx: AppContext, claimIds: readonly string[]): AsyncGenerator<BulkLine> {
  // The checkpoint first: every bundle below proves inclusion in this one tree, and a verdict logged after it is
  // skipped rather than served with a proof against a later tree. As for a single bundle (log-bundle.ts), the latest
  // checkpoint cosigned by witnesses when there is one, so that a reader who pins witnesses can rely on it.
  const checkpoint = (await latestCosignedCheckpoint(ctx)) ?? (await latestCheckpoint(ctx));
  const keys = await listVerifierKeys(ctx);
  yield {
    kind: 'head',
    checkpoint: checkpoint.note,
    treeSize: checkpoint.size,
    verifierKeys: bundleRegistryPart(keys),
  };
  const tasksSent = new Map<string, TaskRow>();
  const skipped: string[] = [];
  let served = 0;
  const reader = dbNodeReader(ctx.db);
  for (let at = 0; at < claimIds.length; at += PAGE) {
    const page = claimIds.slice(at, at + PAGE);
    const [claimRows, evidenceRows, verdictRows, jobRows] = await Promise.all([
      ctx.db.select().from(claims).where(inArray(claims.id, page)),
      ctx.db.select().from(evidence).where(inArray(evidence.claimId, page)).orderBy(asc(evidence.id)),
      ctx.db.select().from(verdicts).where(inArray(verdicts.claimId, page)).orderBy(asc(verdicts.id)),
      ctx.db.select().from(replayJobs).where(inArray(replayJobs.claimId, page)).orderBy(asc(replayJobs.id)),
    ]);
    const views = new Map<string, ClaimView>();
    for (const claim of claimRows) views.set(claim.id, { claim, evidence: [], verdicts: [], jobs: [] });
    for (const e of evidenceRows) views.get(e.claimId)?.evidence.push(e);
    for (const v of verdictRows) views.get(v.claimId)?.verdicts.push(v);
    for (const j of jobRows) views.get(j.claimId)?.jobs.push(j);

    const indexes = verdictRows.flatMap((v) => (v.logIndex !== null && v.logIndex < checkpoint.size ? [v.logIndex] : []));
    const leafRows = indexes.length ? await ctx.db.select().from(logLeaves).where(inArray(logLeaves.index, indexes)) : [];
    const coalesced = coalescingNodeReader(reader);
    const proofs = new Map(
      await Promise.all(leafRows.map(async (l) => [l.index, await inclusionProofFrom(coalesced, l.index, checkpoint.size)] as const)),
    );
    const leaves = new Map(leafRows.map((l) => [l.index, l]));

    for (const id of page) {
      const view = views.get(id);
      if (!view) continue; // Named by the log but no longer stored: the reader's own list shows it missing.
      if (view.verdicts.some((v) => v.logIndex !== null && v.logIndex >= checkpoint.size)) {
        skipped.push(id);
        continue;
      }
      if (!tasksSent.has(view.claim.taskId)) {
        const task = await getTask(ctx, view.claim.taskId);
        tasksSent.set(task.id, task);
        const part = await bundleTaskPart(ctx, task);
        yield { kind: 'task', task: part, taskLeaves: await taskLeavesOf(ctx, part, checkpoint.size) };
      }
      const logged = view.verdicts.flatMap((v) => (v.logIndex !== null && leaves.has(v.logIndex) ? [leaves.get(v.logIndex)!] : []));
      served += 1;
      yield {
        kind: 'bundle',
        bundle: {
          ...(await bundleClaimPart(ctx, view)),
          log: {
            leaves: [...new Map(logged.map((l) => [l.index, l])).values()]
              .sort((a, b) => a.index - b.index)
              .map((l) => ({ index: l.index, leafHash: l.leafHash, data: l.data, inclusionProof: proofs.get(l.index)!.map(toBase64) })),
          },
        },
      };
    }
  }
  yield { kind: 'end', bundles: served, skipped };
}

/**
 * The task's own leaves (its definition, its circuits' registrations) with their proofs against the head's checkpoint,
 * once per task: a reader adds them to each rebuilt bundle's leaves, as GET /v1/claims/{id}/bundle serves them. A leaf
 * past the checkpoint is left out (no verdict that depends on it can be in that tree either).
 */
async function taskLeavesOf(ctx: AppContext, task: Awaited<ReturnType<typeof bundleTaskPart>>, treeSize: number): Promise<LeafWithProof[]> {
  const indexes = taskLeafIndexes(task).filter((i) => i < treeSize);
  if (indexes.length === 0) return [];
  const rows = await ctx.db.select().from(logLeaves).where(inArray(logLeaves.index, indexes)).orderBy(asc(logLeaves.index));
  const reader = dbNodeReader(ctx.db);
  return Promise.all(
    rows.map(async (l) => ({ index: l.index, leafHash: l.leafHash, data: l.data, inclusionProof: (await inclusionProofFrom(reader, l.index, treeSize)).map(toBase64) })),
  );
}

/**
 * Serves the node reads started in one turn of the event loop with one read of the inner store: the inclusion proofs
 * of a page (a Promise.all over inclusionProofFrom) cost one query, not one each. Same contract as the inner reader.
 */
export function coalescingNodeReader(inner: NodeHashReader): NodeHashReader {
  let pending: { nodes: readonly NodeId[]; resolve: (h: readonly Hash[]) => void; reject: (e: unknown) => void }[] = [];
  const flush = async () => {
    const batch = pending;
    pending = [];
    const unique = new Map<string, NodeId>();
    for (const r of batch) for (const n of r.nodes) unique.set(`${n.level}/${n.index}`, n);
    try {
      const list = [...unique.values()];
      const hashes = await inner.readNodeHashes(list);
      const byId = new Map(list.map((n, i) => [`${n.level}/${n.index}`, hashes[i]!]));
      for (const r of batch) r.resolve(r.nodes.map((n) => byId.get(`${n.level}/${n.index}`)!));
    } catch (e) {
      for (const r of batch) r.reject(e);
    }
  };
  return {
    readNodeHashes: (nodes) =>
      new Promise((resolve, reject) => {
        if (pending.length === 0) queueMicrotask(() => void flush());
        pending.push({ nodes, resolve, reject });
      }),
  };
}
