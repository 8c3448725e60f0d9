// Reads a bulk answer (GET /v1/tasks/{id}/bundles or /v1/log/bundles, docs/recheck.md "Bulk reads"): NDJSON lines
// that rebuild, one by one, the same claim bundles GET /v1/claims/{id}/bundle serves. Each rebuilt bundle is parsed
// with the one bundle schema and checked on its own, so nothing in the bulk format is trusted more than a single
// bundle: a line that does not parse, or an answer cut short, only means the claims it did not deliver are fetched
// one by one.
import { z } from 'zod';
import { bundleSchema, type ClaimBundle } from './bundle.ts';
import { pass, skip, warn, type Check } from './report.ts';

const headSchema = z.object({
  kind: z.literal('head'),
  checkpoint: z.string().max(1 << 20),
  treeSize: z.number().int().nonnegative(),
  verifierKeys: z.array(z.unknown()).max(10_000),
});
const taskLineSchema = z.object({
  kind: z.literal('task'),
  task: z.object({ id: z.string().max(64) }).passthrough(),
  // The task's definition and circuit registration leaves; absent from servers older than logged task definitions.
  taskLeaves: z.array(z.object({ index: z.number().int().nonnegative() }).passthrough()).max(128).optional(),
});
const bundleLineSchema = z.object({
  kind: z.literal('bundle'),
  bundle: z.object({ claim: z.object({ task: z.string().max(64) }).passthrough(), log: z.object({ leaves: z.unknown() }) }).passthrough(),
});
const endSchema = z.object({ kind: z.literal('end'), bundles: z.number().int().nonnegative() });

/**
 * Feeds each bundle of the answer to `onBundle` as it arrives (awaited: a slow consumer slows the reading) and
 * returns one check on the answer as a whole: pass, or warn naming why some bundles must be fetched one by one, or
 * skip when the server has no bulk reads.
 */
export async function readBulkBundles(lines: AsyncIterable<string>, onBundle: (bundle: ClaimBundle) => Promise<void>): Promise<Check> {
  const id = 'bulk.read';
  let head: z.infer<typeof headSchema> | undefined;
  const tasks = new Map<string, { task: unknown; taskLeaves: { index: number }[] }>();
  let delivered = 0;
  let malformed = 0;
  let ended = false;
  try {
    for await (const line of lines) {
      if (ended) return warn(id, 'the bulk answer goes on after its end line; what followed was ignored');
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        malformed += 1;
        continue;
      }
      const kind = (value as { kind?: unknown } | null)?.kind;
      if (!head) {
        const h = headSchema.safeParse(value);
        if (!h.success) return warn(id, 'the bulk answer does not start with its head line; bundles fetched one by one');
        head = h.data;
      } else if (kind === 'task') {
        const t = taskLineSchema.safeParse(value);
        if (t.success) tasks.set(t.data.task.id, { task: t.data.task, taskLeaves: t.data.taskLeaves ?? [] });
        else malformed += 1;
      } else if (kind === 'bundle') {
        const b = bundleLineSchema.safeParse(value);
        if (!b.success) {
          malformed += 1;
          continue;
        }
        const { bundle } = b.data;
        const task = tasks.get(bundle.claim.task);
        // The task's leaves come once with its task line; the single bundle carries them among its leaves.
        const leaves = Array.isArray(bundle.log.leaves) && task ? withLeaves(bundle.log.leaves, task.taskLeaves) : bundle.log.leaves;
        const full = bundleSchema.safeParse({
          ...bundle,
          task: task?.task,
          verifierKeys: head.verifierKeys,
          log: { checkpoint: head.checkpoint, treeSize: head.treeSize, leaves },
        });
        if (!full.success) {
          malformed += 1;
          continue;
        }
        delivered += 1;
        await onBundle(full.data);
      } else if (kind === 'end') {
        if (!endSchema.safeParse(value).success) malformed += 1;
        ended = true;
      } else malformed += 1;
    }
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (!head && / 404 /.test(message)) return skip(id, 'the server has no bulk reads; bundles fetched one by one');
    return warn(id, `the bulk answer failed after ${delivered} bundle(s) (${message}); the rest fetched one by one`);
  }
  if (!head) return warn(id, 'the bulk answer was empty; bundles fetched one by one');
  const problems = [...(malformed ? [`${malformed} malformed line(s) skipped`] : []), ...(ended ? [] : ['no end line: the answer was cut short'])];
  return problems.length
    ? warn(id, `${delivered} bundle(s) in one streamed answer; ${problems.join('; ')}; the rest fetched one by one`)
    : pass(id, `${delivered} bundle(s) in one streamed answer, every inclusion proof against one checkpoint (size ${head.treeSize})`);
}

/** The bundle's leaves with the task's leaves among them, in index order, each once. */
function withLeaves(leaves: unknown[], extra: { index: number }[]): unknown[] {
  const index = (l: unknown) => Number((l as { index?: unknown }).index);
  const byIndex = new Map<number, unknown>(extra.map((l) => [l.index, l]));
  for (const l of leaves) byIndex.set(index(l), l);
  return [...byIndex.values()].sort((a, b) => index(a) - index(b));
}
