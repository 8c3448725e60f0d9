// Where a task pack's files stand in storage: stored with the size the pack declares, and hidden where they must be.
import { eq, inArray } from 'drizzle-orm';
import { blobs, hiddenBlobs } from '../../../db/schema.ts';
import type { PackFile, Problem, TaskPack } from '../../attest/task-pack.ts';
import type { AppContext } from '../context.ts';

/**
 * Every reason the pack's files cannot be served to a worker as pinned: a file never uploaded, uploaded with another
 * size, or (for the evaluation data) uploaded through the public route instead of the operator's hidden one. A pack
 * registered with any of these would fail every replay, or publish its evaluation set.
 */
export async function packFileProblems(ctx: AppContext, pack: TaskPack): Promise<Problem[]> {
  const parts: [string, readonly PackFile[]][] = [
    ['pack.harness.files', pack.harness.files],
    ['pack.evalData.files', pack.evalData.files],
    ['pack.trainData.files', pack.trainData.files],
  ];
  const shas = [...new Set(parts.flatMap(([, files]) => files.map((f) => f.sha256)))];
  const sizes = new Map<string, number>();
  const hidden = new Set<string>();
  // Chunked: a pack may list thousands of files, and one IN list per query stays well under the parameter limits.
  for (let i = 0; i < shas.length; i += 500) {
    const chunk = shas.slice(i, i + 500);
    for (const r of await ctx.db.select({ sha256: blobs.sha256, size: blobs.size }).from(blobs).where(inArray(blobs.sha256, chunk))) sizes.set(r.sha256, r.size);
    for (const r of await ctx.db.select({ sha256: hiddenBlobs.sha256 }).from(hiddenBlobs).where(inArray(hiddenBlobs.sha256, chunk))) hidden.add(r.sha256);
  }
  const problems: Problem[] = [];
  for (const [path, files] of parts) {
    files.forEach((f, i) => {
      const at = `${path}.${i}`;
      const size = sizes.get(f.sha256);
      if (size === undefined) problems.push({ path: at, message: `${f.path}: sha256:${f.sha256} is not uploaded` });
      else if (size !== f.bytes) problems.push({ path: at, message: `${f.path}: the stored blob has ${size} bytes, the pack says ${f.bytes}` });
      else if (path !== 'pack.evalData.files' && hidden.has(f.sha256)) {
        problems.push({ path: at, message: `${f.path}: this file is hidden (uploaded as evaluation data), but the harness and the training data are public` });
      } else if (path === 'pack.evalData.files' && pack.evalData.public && hidden.has(f.sha256)) {
        problems.push({ path: at, message: `${f.path}: the pack declares its evaluation data public, but this file was uploaded hidden` });
      } else if (path === 'pack.evalData.files' && !pack.evalData.public && !hidden.has(f.sha256)) {
        problems.push({ path: at, message: `${f.path}: evaluation data must be uploaded hidden (PUT /v1/blobs/hidden/{ref}), not through the public route` });
      }
    });
  }
  return problems;
}

/** Whether the public blob route must refuse this digest (a pack's hidden evaluation data). */
export async function isHiddenBlob(ctx: AppContext, sha256: string): Promise<boolean> {
  const [row] = await ctx.db.select({ sha256: hiddenBlobs.sha256 }).from(hiddenBlobs).where(eq(hiddenBlobs.sha256, sha256));
  return row !== undefined;
}
