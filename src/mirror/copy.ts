// `proofboard mirror`'s copy: reads a board from its origin over the public read API, and accepts the copy only if
// `proofboard recheck` passes on it, task by task, exactly as a third party's re-check would (src/recheck/recheck.ts,
// never a copy of its rules). The re-check reads the candidate copy through snapshot.ts's answer(), the same
// function the mirror then serves it with; it remembers the origin's log between copies (the mirror's own recheck
// state), so a later copy that rewrites history, rolls the log back or changes a remembered policy is refused too.
// A refused copy changes nothing: the mirror keeps serving the last copy it accepted.
import { z } from 'zod';
import { fromBase64 } from '../attest/bytes.ts';
import { parseCheckpoint, parseNote, type WitnessPolicy } from '../log/index.ts';
import type { Fetcher } from '../recheck/http.ts';
import type { PinnedCircuit } from '../recheck/pins.ts';
import { recheck } from '../recheck/recheck.ts';
import type { Check } from '../recheck/report.ts';
import type { RecheckState } from '../recheck/state-file.ts';
import type { BlobStore } from '../blobs/blob-store.ts';
import { answer, type MirrorSnapshot } from './snapshot.ts';
import { taskPackSchema } from '../attest/task-pack.ts';

/** What the copy reads from the origin: raw text at an API path, and a blob's bytes. */
export type Origin = {
  url: string;
  text(path: string): Promise<string>;
  download(path: string, maxBytes: number): Promise<Uint8Array>;
};

export type CopyOptions = {
  pinnedVkey?: string | undefined;
  witnesses?: WitnessPolicy | undefined;
  pins: ReadonlyMap<string, PinnedCircuit>;
  state: RecheckState;
  now: Date;
  blobs: BlobStore;
  maxBlobBytes: number;
  log?: (line: string) => void;
};

export type CopyResult =
  | { ok: true; snapshot: MirrorSnapshot; state: RecheckState; checked: number }
  | { ok: false; failures: string[]; state: RecheckState };

const PAGE = 1000;
/** Rounds of "the log grew while we copied": each round re-reads the checkpoint and what it added. */
const MAX_ROUNDS = 5;

const tasksSchema = z.object({ tasks: z.array(z.object({ id: z.string().min(1).max(64) }).passthrough()).max(10_000) }).passthrough();
const entriesSchema = z.object({
  size: z.number().int().nonnegative(),
  entries: z.array(z.object({ index: z.number().int().nonnegative(), claimId: z.string(), data: z.string() })).max(PAGE),
});
const bundleHeadSchema = z
  .object({ envelope: z.object({ payload: z.string() }).passthrough(), log: z.object({ treeSize: z.number().int().nonnegative() }).passthrough() })
  .passthrough();

const sizeOf = (note: string): number => {
  const parsed = parseNote(note);
  const cp = parsed.ok ? parseCheckpoint(parsed.value.text) : null;
  if (!cp?.ok) throw new Error('the origin served a checkpoint that is not a checkpoint note');
  return cp.value.size;
};

export async function copyBoard(origin: Origin, opts: CopyOptions): Promise<CopyResult> {
  const log = opts.log ?? (() => {});
  const logKey = await origin.text('/v1/log/key');
  const tasks = await origin.text('/v1/tasks');
  const taskIds = tasksSchema.parse(JSON.parse(tasks)).tasks.map((t) => t.id);
  const taskPages: MirrorSnapshot['taskPages'] = {};
  for (const id of taskIds) {
    const path = `/v1/tasks/${encodeURIComponent(id)}`;
    taskPages[id] = { task: await origin.text(path), leaderboard: await origin.text(`${path}/leaderboard`) };
  }
  const verifierKeys = await origin.text('/v1/verifier-keys');

  // The checkpoint is read before the entries and the bundles: sizes only grow, so a bundle read later carries a
  // checkpoint at least as large. When one is larger, the log grew meanwhile: read the new checkpoint and entries.
  const entries: MirrorSnapshot['entries'] = [];
  const claims: MirrorSnapshot['claims'] = {};
  const bundleSize = new Map<string, number>();
  let checkpoint = '';
  let cosigned: string | null = null;
  for (let round = 0; ; round++) {
    checkpoint = await origin.text('/v1/log/checkpoint');
    cosigned = opts.witnesses ? await origin.text('/v1/log/checkpoint/cosigned').catch(() => null) : null;
    const size = sizeOf(checkpoint);
    for (let start = entries.length; start < size; start += PAGE) {
      const page = entriesSchema.parse(JSON.parse(await origin.text(`/v1/log/entries?start=${start}&end=${Math.min(size, start + PAGE)}`)));
      entries.push(...page.entries);
      if (page.entries.length === 0) break;
    }
    // A claim's bundle must cover every entry of it in the copied log: fetched again when it does not.
    const lastIndex = new Map<string, number>();
    for (const e of entries) if (/^[0-9a-f]{64}$/.test(e.claimId)) lastIndex.set(e.claimId, e.index);
    let grew = false;
    for (const [id, last] of lastIndex) {
      if ((bundleSize.get(id) ?? 0) > last) continue;
      const path = `/v1/claims/${id}`;
      const bundle = await origin.text(`${path}/bundle`);
      claims[id] = { claim: await origin.text(path), bundle };
      const head = bundleHeadSchema.parse(JSON.parse(bundle));
      bundleSize.set(id, head.log.treeSize);
      if (head.log.treeSize > size) grew = true;
    }
    if (!grew) break;
    if (round === MAX_ROUNDS) return { ok: false, failures: ['the origin log kept growing while it was copied; try again'], state: opts.state };
    log(`the log grew while copying (round ${round + 1}); reading the new checkpoint`);
  }

  const blobs = await copyBlobs(origin, claims, opts);
  const snapshot: MirrorSnapshot = {
    v: 1,
    origin: origin.url,
    copiedAt: opts.now.toISOString(),
    logKey,
    checkpoint,
    cosigned,
    entries,
    tasks,
    taskPages,
    claims,
    verifierKeys,
    blobs,
  };

  // The copy is checked as a third party would check the board, through the answers the mirror will serve.
  const fetcher = snapshotFetcher(snapshot);
  let state = opts.state;
  const failures: string[] = [];
  const checkedIds = new Set<string>();
  const run = async (target: { taskId: string } | { claimIds: string[] }, where: string) => {
    const r = await recheck(fetcher, target, { server: origin.url, pinnedVkey: opts.pinnedVkey, witnesses: opts.witnesses, state, pins: opts.pins, now: opts.now });
    state = r.state;
    const bad = (checks: readonly Check[], at: string) => checks.filter((c) => c.status === 'fail').map((c) => `${at}${c.id}: ${c.detail}`);
    const before = failures.length;
    failures.push(...bad(r.report.log, where));
    for (const c of r.report.claims) {
      checkedIds.add(c.claimId);
      failures.push(...bad(c.checks, `claim ${c.claimId}: `));
    }
    if (!r.report.ok && failures.length === before) failures.push(`${where}the re-check did not pass`);
  };
  for (const taskId of taskIds) await run({ taskId }, `task ${taskId}: `);
  // Claims no leaderboard shows (rejected, disputed, superseded) are served too, so they are checked too.
  const rest = Object.keys(claims).filter((id) => !checkedIds.has(id));
  if (rest.length) await run({ claimIds: rest }, 'claims: ');
  const checked = checkedIds.size;
  if (failures.length) return { ok: false, failures, state: opts.state };
  return { ok: true, snapshot, state, checked };
}

/**
 * Public blobs the bundles name: a claim's git bundle, and its task pack's public files (harness, training data, and
 * the evaluation data when the pack declares it public), so that `recheck --replay` works against the mirror too. Each
 * is verified against its digest as it is stored.
 */
async function copyBlobs(origin: Origin, claims: MirrorSnapshot['claims'], opts: CopyOptions): Promise<string[]> {
  const digests = new Set<string>();
  const packFiles = new Set<string>();
  for (const { bundle } of Object.values(claims)) {
    const parsed = JSON.parse(bundle) as { task?: { pack?: unknown } };
    const head = bundleHeadSchema.parse(parsed);
    const payload = JSON.parse(new TextDecoder().decode(fromBase64(head.envelope.payload, 'claim payload'))) as { bundle?: unknown };
    if (typeof payload.bundle === 'string' && /^sha256:[0-9a-f]{64}$/.test(payload.bundle)) digests.add(payload.bundle.slice(7));
    const pack = taskPackSchema.safeParse(parsed.task?.pack);
    if (pack.success) {
      const { harness, trainData, evalData } = pack.data;
      for (const f of [...harness.files, ...trainData.files, ...(evalData.public ? evalData.files : [])]) packFiles.add(f.sha256);
    }
  }
  for (const digest of digests) await copyBlob(origin, digest, opts);
  // A pack file serves only `recheck --replay`: one the origin does not serve is left out (and replay says so), the
  // copy of the board goes on. A git bundle a claim names is part of what is checked: its absence fails the copy.
  for (const digest of packFiles) {
    if (digests.has(digest)) continue;
    try {
      await copyBlob(origin, digest, opts);
      digests.add(digest);
    } catch {
      // Not copied: not listed, so the mirror answers 404 for it.
    }
  }
  return [...digests].sort();
}

async function copyBlob(origin: Origin, digest: string, opts: CopyOptions): Promise<void> {
  if (await opts.blobs.has(digest)) return;
  const bytes = await origin.download(`/v1/blobs/sha256:${digest}`, opts.maxBlobBytes);
  const put = await opts.blobs.put(digest, (async function* () {
    yield bytes;
  })(), opts.maxBlobBytes);
  // A blob that is not what its digest says is the origin's fault: refused, never stored.
  if (!put.ok) throw new Error(`blob sha256:${digest} from the origin: ${put.message}`);
}

/** recheck's Fetcher over a snapshot: the answers the mirror serves. */
export function snapshotFetcher(s: MirrorSnapshot): Fetcher {
  const get = async (path: string) => {
    const a = await answer(s, path);
    if (a.status !== 200) throw new Error(`${path}: ${a.status} ${a.body.slice(0, 200)}`);
    return a.body;
  };
  return {
    text: get,
    async json<T>(path: string, schema: z.ZodType<T>): Promise<T> {
      const checked = schema.safeParse(JSON.parse(await get(path)));
      if (!checked.success) throw new Error(`${path}: the copied answer does not have the expected shape`);
      return checked.data;
    },
  };
}
