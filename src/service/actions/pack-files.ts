// A task pack's files: the operator uploads the hidden evaluation data through its own route; a worker holding a
// lease downloads any file of its job's task pack by digest. The public blob route never serves a hidden file.
import { and, eq, gt } from 'drizzle-orm';
import { blobs, claims, hiddenBlobs, replayJobs, tasks } from '../../../db/schema.ts';
import { taskPackSchema } from '../../attest/task-pack.ts';
import type { AppContext } from '../context.ts';
import { ServiceError } from '../errors.ts';
import { authorizeWorker } from '../judging/worker-auth.ts';
import { writeAudit, type Operator } from '../storage/audit-trail.ts';
import { isHiddenBlob } from '../storage/pack-files.ts';
import { uploadBlob } from './upload-blob.ts';

/**
 * Stores a blob and marks it hidden (operator only): the public GET /v1/blobs/{ref} answers 404 for it from now on.
 * A digest already stored in public is refused: its bytes were served to anyone (hiding them now protects nothing),
 * and they may be a public file of another task, which hiding would break.
 */
export async function uploadHiddenBlob(ctx: AppContext, actor: Operator, sha256: string, body: AsyncIterable<Uint8Array>) {
  const [stored] = await ctx.db.select({ sha256: blobs.sha256 }).from(blobs).where(eq(blobs.sha256, sha256));
  if (stored && !(await isHiddenBlob(ctx, sha256))) {
    throw new ServiceError('conflict', `sha256:${sha256} is already stored in public: it cannot be hidden (its bytes were served to anyone)`, { reason: 'already_public' });
  }
  const result = await uploadBlob(ctx, sha256, body);
  await ctx.db.transaction(async (tx) => {
    const marked = await tx.insert(hiddenBlobs).values({ sha256, createdAt: ctx.now() }).onConflictDoNothing().returning();
    if (marked.length > 0) await writeAudit(tx, actor, 'blob.hide', `blob:sha256:${sha256}`, { size: result.size }, ctx.now());
  });
  return result;
}

/**
 * Opens one file of a leased job's task pack for the worker that holds the lease. Refused: a request not signed by a
 * trusted key, for another job or file, by a worker whose lease is gone, or for a digest the job's task does not pin,
 * so hidden evaluation data reaches only a worker that is running a replay of that task, during its lease.
 */
export async function openPackFileForJob(ctx: AppContext, jobId: number, sha256: string, envelope: unknown) {
  const worker = await authorizeWorker(ctx, envelope, 'fetch');
  if (worker.request.jobId !== jobId) throw new ServiceError('bad_request', 'the signed request names another job');
  if (worker.request.file !== sha256) throw new ServiceError('bad_request', 'the signed request names another file');
  const now = ctx.now();
  const [row] = await ctx.db
    .select({ pack: tasks.pack })
    .from(replayJobs)
    .innerJoin(claims, eq(claims.id, replayJobs.claimId))
    .innerJoin(tasks, eq(tasks.id, claims.taskId))
    .where(and(eq(replayJobs.id, jobId), eq(replayJobs.state, 'leased'), eq(replayJobs.leaseOwner, worker.owner), gt(replayJobs.leaseExpiresAt, now)));
  if (!row) throw new ServiceError('conflict', 'lease lost: the job is no longer leased to this worker', { reason: 'lease_lost' });
  const pack = taskPackSchema.safeParse(row.pack);
  const pinned =
    pack.success &&
    [...pack.data.harness.files, ...pack.data.evalData.files, ...pack.data.trainData.files].some((f) => f.sha256 === sha256);
  if (!pinned) throw new ServiceError('not_found', `sha256:${sha256} is not a file of this job's task pack`);
  const blob = await ctx.blobs.open(sha256);
  // Registration checked that every file was stored; a blob gone since is a fault of the store, not of the worker.
  if (!blob) throw new Error(`pack file sha256:${sha256} is missing from the blob store`);
  return blob;
}
