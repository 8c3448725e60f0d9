// Content-addressed upload: the digest in the URL is checked against the bytes before anything is kept.
import { blobs } from '../../../db/schema.ts';
import type { AppContext } from '../context.ts';
import { ServiceError } from '../errors.ts';

export async function uploadBlob(ctx: AppContext, sha256: string, body: AsyncIterable<Uint8Array>) {
  const put = await ctx.blobs.put(sha256, body, ctx.config.maxBlobBytes);
  if (!put.ok) throw new ServiceError(put.reason, put.message);
  // The row is written after the bytes are durable, so a row always points at a complete blob.
  await ctx.db.insert(blobs).values({ sha256, size: put.size, createdAt: ctx.now() }).onConflictDoNothing();
  return { sha256, size: put.size, created: put.created };
}
