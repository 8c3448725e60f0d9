// The pack of a task whose evaluation data is public, for replaying a claim outside the service: `recheck --replay`
// (a third party) and `verifier replay` (an operator attesting by hand). Every file comes from the public blob route
// by the digest the task pins, and materializePack (src/replay/pack-files.ts) refuses any byte that does not hash to
// it, so the server serving them is not trusted for their content. A task with hidden evaluation data cannot be
// replayed this way: its data goes only to a worker holding a lease on one of its jobs.
import { taskPackSchema, type TaskPack } from '../attest/task-pack.ts';
import type { PackFileSource } from '../replay/pack-files.ts';
import { apiDownload } from './http-client.ts';

export type PublicPack = { ok: true; pack: TaskPack; source: PackFileSource } | { ok: false; reason: string };

export function publicPackOf(server: string, task: { id: string; pack?: unknown }): PublicPack {
  const parsed = taskPackSchema.safeParse(task.pack);
  if (!parsed.success) return { ok: false, reason: `task ${task.id} replays in two stages, but its pack is missing or malformed` };
  if (parsed.data.evalData.public !== true) {
    return { ok: false, reason: `task ${task.id} keeps its evaluation data hidden: only a worker holding a lease on one of its jobs can replay it` };
  }
  // One more byte than pinned: a longer answer is caught by the size check, not silently cut to length.
  const source: PackFileSource = async (file) => apiDownload(server, `/v1/blobs/sha256:${file.sha256}`, file.bytes + 1);
  return { ok: true, pack: parsed.data, source };
}
