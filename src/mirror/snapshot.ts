// A mirror's copy of a proofboard board: the log (key, checkpoints, every entry), each claim's bundle and record, the
// tasks, their leaderboards and the verifier registry, as the origin served them (verbatim JSON text, so what the
// mirror serves is byte for byte what was verified), and the public blobs in a folder beside it.
//
// `answer()` serves a snapshot under the origin's read API paths. It is both what the mirror's HTTP server sends and
// what the mirror's own re-check reads before it accepts a copy (copy.ts), so a reader of the mirror gets exactly
// what the mirror verified. Inclusion and consistency proofs are computed here from the entries (src/log), never
// copied: a copied proof could only be checked against the same entries anyway.
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { toBase64, utf8 } from '../attest/bytes.ts';
import { consistencyProofFrom, hashLeaf, inclusionProofFrom, MemoryTree } from '../log/index.ts';

export const snapshotSchema = z
  .object({
    v: z.literal(1),
    origin: z.string(),
    copiedAt: z.string(),
    logKey: z.string(),
    checkpoint: z.string(),
    cosigned: z.string().nullable(),
    entries: z.array(z.object({ index: z.number().int().nonnegative(), claimId: z.string(), data: z.string() })),
    tasks: z.string(),
    taskPages: z.record(z.string(), z.object({ task: z.string(), leaderboard: z.string() })),
    claims: z.record(z.string(), z.object({ claim: z.string(), bundle: z.string() })),
    verifierKeys: z.string(),
    blobs: z.array(z.string()),
  })
  .strict();

export type MirrorSnapshot = z.infer<typeof snapshotSchema>;

export type Answer = { status: number; type: string; body: string };

const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';
const MAX_ENTRIES_PAGE = 1000;
const DECIMAL = /^(0|[1-9][0-9]{0,14})$/;

const notFound = (message: string): Answer => ({ status: 404, type: JSON_TYPE, body: JSON.stringify({ error: { code: 'not_found', message } }) });
const badQuery = (message: string): Answer => ({ status: 400, type: JSON_TYPE, body: JSON.stringify({ error: { code: 'bad_query', message } }) });
const json = (body: string): Answer => ({ status: 200, type: JSON_TYPE, body });

const trees = new WeakMap<MirrorSnapshot, MemoryTree>();
function treeOf(s: MirrorSnapshot): MemoryTree {
  let tree = trees.get(s);
  if (!tree) {
    tree = new MemoryTree();
    for (const e of s.entries) tree.appendLeafHash(hashLeaf(utf8(e.data)));
    trees.set(s, tree);
  }
  return tree;
}

/** Canonical decimal query values, as the origin requires ("007", "1e3" and "-1" are refused). */
function numbers(url: URL, ...names: string[]): number[] | Answer {
  const out: number[] = [];
  for (const n of names) {
    const v = url.searchParams.get(n);
    if (v === null || !DECIMAL.test(v)) return badQuery(`${n}: a non-negative decimal integer below 10^15`);
    out.push(Number(v));
  }
  return out;
}

/** The origin's read API over a snapshot: the answer to a GET of `path` (with its query). */
export async function answer(s: MirrorSnapshot, path: string): Promise<Answer> {
  const url = new URL(path, 'http://mirror');
  const p = url.pathname;
  const size = s.entries.length;
  if (p === '/v1/log/key') return json(s.logKey);
  if (p === '/v1/log/checkpoint') return { status: 200, type: TEXT_TYPE, body: s.checkpoint };
  if (p === '/v1/log/checkpoint/cosigned') return s.cosigned ? { status: 200, type: TEXT_TYPE, body: s.cosigned } : notFound('no cosigned checkpoint was copied');
  if (p === '/v1/log/entries') {
    const q = numbers(url, 'start', 'end');
    if (!Array.isArray(q)) return q;
    const [start, end] = q as [number, number];
    if (end <= start) return badQuery('end must be greater than start');
    if (end - start > MAX_ENTRIES_PAGE) return badQuery(`at most ${MAX_ENTRIES_PAGE} entries per page`);
    return json(JSON.stringify({ size, entries: s.entries.slice(start, Math.min(end, size)) }));
  }
  if (p === '/v1/log/proof/inclusion') {
    const q = numbers(url, 'index', 'size');
    if (!Array.isArray(q)) return q;
    const [index, at] = q as [number, number];
    if (index >= at || at > size) return badQuery(`need index < size <= ${size}`);
    const proof = await inclusionProofFrom(treeOf(s), index, at);
    return json(JSON.stringify({ index, size: at, proof: proof.map(toBase64) }));
  }
  if (p === '/v1/log/proof/consistency') {
    const q = numbers(url, 'from', 'to');
    if (!Array.isArray(q)) return q;
    const [from, to] = q as [number, number];
    if (from > to || to > size) return badQuery(`need from <= to <= ${size}`);
    const proof = await consistencyProofFrom(treeOf(s), from, to);
    return json(JSON.stringify({ from, to, proof: proof.map(toBase64) }));
  }
  if (p === '/v1/tasks') return json(s.tasks);
  if (p === '/v1/verifier-keys') return json(s.verifierKeys);
  let m = /^\/v1\/tasks\/([^/]+)(\/leaderboard)?$/.exec(p);
  if (m) {
    const page = s.taskPages[decodeURIComponent(m[1]!)];
    if (!page) return notFound('no such task in this mirror');
    return json(m[2] ? page.leaderboard : page.task);
  }
  m = /^\/v1\/claims\/([0-9a-f]{64})(\/bundle)?$/.exec(p);
  if (m) {
    const claim = s.claims[m[1]!];
    if (!claim) return notFound('no such claim in this mirror');
    return json(m[2] ? claim.bundle : claim.claim);
  }
  return notFound(`this mirror does not serve ${p}`);
}

/** Reads DIR/snapshot.json; null when the mirror has never accepted a copy. A damaged file is a fault. */
export async function loadSnapshot(dir: string): Promise<MirrorSnapshot | null> {
  let text: string;
  try {
    text = await readFile(join(dir, 'snapshot.json'), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  return snapshotSchema.parse(JSON.parse(text));
}

/** Replaces DIR/snapshot.json atomically (temporary file, fsync, rename, fsync of the folder). */
export async function saveSnapshot(dir: string, s: MirrorSnapshot): Promise<void> {
  const path = join(dir, 'snapshot.json');
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
  const file = await open(tmp, 'wx', 0o644);
  try {
    await file.writeFile(JSON.stringify(s));
    await file.sync();
  } catch (e) {
    await file.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
  await file.close();
  await rename(tmp, path);
  const folder = await open(dirname(path), 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}
