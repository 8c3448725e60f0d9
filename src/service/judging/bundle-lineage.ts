// Intake's check that a claim is tied to its git bundle and that its lineage holds (issue 15, findings 2 and 3).
//
// Threats: without it, a claim could name a commit its bundle does not hold (or a bundle that is not git at all) and
// still be verified and ranked by its zk proof or attestations, though nobody could ever replay or audit it; and a
// claim could name any parent (unknown, itself, or one that is not in its history) to borrow a lineage on the board
// or pick the baseline of a beats-parent test. The bundle is read by the pure reader src/attest/git-bundle.ts (no git
// process in the API process: the bytes are hostile), with bounded work.
//
// What counts as a known parent: a stored claim of the same task, not rejected, whose commit is the parent (pending,
// verified and disputed claims all count: the lineage is about history, and a parent still under replay is real).
// A claim submitted with its parent in the same moment may be refused as unknown_parent: submit the parent first.
import { and, eq, ne, sql } from 'drizzle-orm';
import { claims } from '../../../db/schema.ts';
import type { ClaimPayload } from '../../attest/claim.ts';
import { isAncestor, readGitBundle, type GitBundleResult } from '../../attest/git-bundle.ts';
import type { AppContext } from '../context.ts';
import { ServiceError } from '../errors.ts';

type Inspection = { ok: true; commits: ReadonlyMap<string, readonly string[]>; prerequisites: number } | Extract<GitBundleResult, { ok: false }>;

export async function assertBundleHoldsClaim(ctx: AppContext, claim: Pick<ClaimPayload, 'task' | 'commit' | 'parent' | 'bundle'>): Promise<void> {
  const sha = claim.bundle.slice('sha256:'.length);
  const bundle = await inspectBundle(ctx, sha);
  if (!bundle.ok) {
    if (bundle.reason === 'too_large') throw new ServiceError('bundle_over_limits', `bundle ${claim.bundle}: ${bundle.message}`);
    throw new ServiceError('bundle_not_git', `bundle ${claim.bundle} is not a readable git bundle (${bundle.reason}): ${bundle.message}`);
  }
  // A bundle that needs commits it does not carry cannot be unbundled on a fresh replay machine (git bundle verify
  // fails): nobody could ever check the claim out, and the lineage below could not be followed to its root.
  if (bundle.prerequisites > 0) {
    throw new ServiceError('bundle_incomplete', `bundle ${claim.bundle} needs ${bundle.prerequisites} commit(s) it does not hold: bundle the whole history (git bundle create x.bundle <branch>)`);
  }
  if (!bundle.commits.has(claim.commit)) throw new ServiceError('bundle_missing_commit', `bundle ${claim.bundle} does not hold commit ${claim.commit}`);
  if (claim.parent === null) return;
  // Commit ids are hashes of their parents' ids, so a real cycle cannot exist; a claimed one (a commit as its own
  // parent, or a parent that is really a descendant) fails this test.
  if (!isAncestor(bundle.commits, claim.commit, claim.parent)) {
    throw new ServiceError('parent_not_ancestor', `parent ${claim.parent} is not an ancestor of commit ${claim.commit} in its bundle`);
  }
  const [known] = await ctx.db
    .select({ one: sql<number>`1` })
    .from(claims)
    .where(and(eq(claims.taskId, claim.task), eq(claims.commit, claim.parent), ne(claims.status, 'rejected')))
    .limit(1);
  if (!known) throw new ServiceError('unknown_parent', `no claim of task ${claim.task} names commit ${claim.parent} (rejected claims do not count): submit the parent first`);
}

// --- the per-blob cache ---

/**
 * Inspections by blob digest: a blob's bytes never change under its digest, so N claims on one bundle read and parse
 * it once. Bounded by entries and by the commits they hold together, least recently used first out. Holds the promise,
 * so claims arriving together on one bundle share one parse.
 */
const CACHE_ENTRIES = 32;
const CACHE_COMMITS = 200_000;
const cache = new Map<string, { inspection: Promise<Inspection>; weight: number }>();
let cachedWeight = 0;

async function inspectBundle(ctx: AppContext, sha: string): Promise<Inspection> {
  const hit = cache.get(sha);
  if (hit) {
    cache.delete(sha);
    cache.set(sha, hit);
    return hit.inspection;
  }
  const entry = { inspection: readAndInspect(ctx, sha), weight: 0 };
  cache.set(sha, entry);
  try {
    const inspection = await entry.inspection;
    // Weighed once parsed, unless evicted meanwhile (an evicted entry no longer counts).
    if (cache.get(sha) === entry && entry.weight === 0) {
      entry.weight = 1 + (inspection.ok ? inspection.commits.size : 0);
      cachedWeight += entry.weight;
      evict();
    }
    return inspection;
  } catch (e) {
    // A fault (disk, blob vanished) is not a property of the bytes: the next claim tries again.
    if (cache.get(sha) === entry) cache.delete(sha);
    throw e;
  }
}

function evict() {
  for (const [sha, entry] of cache) {
    if (cache.size <= CACHE_ENTRIES && cachedWeight <= CACHE_COMMITS) break;
    cache.delete(sha);
    cachedWeight -= entry.weight;
  }
}

async function readAndInspect(ctx: AppContext, sha: string): Promise<Inspection> {
  const blob = await ctx.blobs.open(sha);
  if (!blob) throw new ServiceError('unknown_blob', `upload the bundle first: PUT /v1/blobs/sha256:${sha}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of blob.stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    // The store refuses blobs over maxBlobBytes; a bigger file here is not read into memory.
    if (size > ctx.config.maxBlobBytes) return { ok: false, reason: 'too_large', message: `over ${ctx.config.maxBlobBytes} bytes` };
    chunks.push(chunk);
  }
  const result = readGitBundle(Buffer.concat(chunks, size), { maxBundleBytes: ctx.config.maxBlobBytes });
  if (!result.ok) return result;
  return { ok: true, commits: result.commits, prerequisites: result.prerequisites.length };
}
