// Real git commits and bundles built in JavaScript, without spawning git: deterministic (fixed author, date, tree),
// so a test's commit ids never change, and fast enough for every claim a test posts. test/attest/git-objects.test.ts
// checks with `git bundle verify` and `git fsck` that git accepts what this writes.
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';

export type ObjectType = 'commit' | 'tree' | 'blob' | 'tag';
export type RawObject = { type: ObjectType; body: Buffer; oid: string };

export type SyntheticCommit = {
  /** The commit's id (SHA-1, 40 hex). */
  commit: string;
  parents: string[];
  /** A v2 bundle holding the commit and all its ancestors, with refs/heads/main at the commit. */
  bundle: Uint8Array;
  /** The bundle's blob reference, as a claim names it. */
  bundleRef: string;
  /** The commit's objects and its ancestors', parents first. */
  objects: RawObject[];
};

const TYPE_CODE: Record<ObjectType, number> = { commit: 1, tree: 2, blob: 3, tag: 4 };
const AUTHOR = 'proofboard test <test@proofboard.invalid> 1764230400 +0000';

export function gitObject(type: ObjectType, body: Buffer | string): RawObject {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const oid = createHash('sha1').update(`${type} ${b.length}\0`).update(b).digest('hex');
  return { type, body: b, oid };
}

const cache = new Map<string, SyntheticCommit>();

/**
 * A deterministic commit: one file label.txt holding the label, fixed author and date, the given parents; with a
 * bundle of it and its ancestors. The same label and parents always give the same commit.
 */
export function syntheticCommit(label: string, parents: SyntheticCommit[] = []): SyntheticCommit {
  const key = `${label}\0${parents.map((p) => p.commit).join(',')}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const blob = gitObject('blob', `${label}\n`);
  const tree = gitObject('tree', Buffer.concat([Buffer.from('100644 label.txt\0'), Buffer.from(blob.oid, 'hex')]));
  const commitBody = [`tree ${tree.oid}`, ...parents.map((p) => `parent ${p.commit}`), `author ${AUTHOR}`, `committer ${AUTHOR}`, '', `${label}`, ''].join('\n');
  const commit = gitObject('commit', commitBody);
  const seen = new Set<string>();
  const objects: RawObject[] = [];
  for (const o of [...parents.flatMap((p) => p.objects), blob, tree, commit]) {
    if (seen.has(o.oid)) continue;
    seen.add(o.oid);
    objects.push(o);
  }
  const bundle = writeBundle({ refs: [[commit.oid, 'refs/heads/main']], objects });
  const made = { commit: commit.oid, parents: parents.map((p) => p.commit), bundle, bundleRef: `sha256:${sha256(bundle)}`, objects };
  cache.set(key, made);
  return made;
}

/** A linear history of n commits labelled `${prefix}-0` .. `${prefix}-(n-1)`, each the parent of the next. */
export function syntheticChain(prefix: string, n: number): SyntheticCommit[] {
  const out: SyntheticCommit[] = [];
  for (let i = 0; i < n; i++) out.push(syntheticCommit(`${prefix}-${i}`, out.length ? [out[out.length - 1]!] : []));
  return out;
}

/** A v2 bundle: header (prerequisites, refs, blank line) and a pack of the objects, none deltified. */
export function writeBundle(opts: { refs: [string, string][]; objects: RawObject[]; prerequisites?: string[] }): Uint8Array {
  const header = ['# v2 git bundle', ...(opts.prerequisites ?? []).map((p) => `-${p}`), ...opts.refs.map(([oid, ref]) => `${oid} ${ref}`), '', ''].join('\n');
  return new Uint8Array(Buffer.concat([Buffer.from(header), writePack(opts.objects)]));
}

/** A pack v2 of whole (undeltified) objects; `entries` may instead give raw entry bytes for hostile packs. */
export function writePack(objects: RawObject[], entries: Buffer[] = objects.map((o) => packEntry(TYPE_CODE[o.type], o.body.length, deflateSync(o.body)))): Buffer {
  const head = Buffer.alloc(12);
  head.write('PACK', 0, 'latin1');
  head.writeUInt32BE(2, 4);
  head.writeUInt32BE(entries.length, 8);
  const body = Buffer.concat([head, ...entries]);
  return Buffer.concat([body, createHash('sha1').update(body).digest()]);
}

/** One pack entry: the type-and-size header, then the given (already deflated) data. */
export function packEntry(type: number, size: number, deflated: Buffer): Buffer {
  const bytes: number[] = [];
  let c = (type << 4) | (size & 0x0f);
  let rest = Math.floor(size / 16);
  while (rest > 0) {
    bytes.push(c | 0x80);
    c = rest & 0x7f;
    rest = Math.floor(rest / 128);
  }
  bytes.push(c);
  return Buffer.concat([Buffer.from(bytes), deflated]);
}

export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export type CommitPool = { commits: string[]; bundle: Uint8Array; bundleRef: string };

/**
 * One bundle holding n distinct root commits (one shared tree, messages `${label} ${i}`): for tests that need many
 * claims on distinct commits without uploading a bundle for each.
 */
export function syntheticPool(label: string, n: number): CommitPool {
  const blob = gitObject('blob', `${label}\n`);
  const tree = gitObject('tree', Buffer.concat([Buffer.from('100644 label.txt\0'), Buffer.from(blob.oid, 'hex')]));
  const commits = Array.from({ length: n }, (_, i) => gitObject('commit', [`tree ${tree.oid}`, `author ${AUTHOR}`, `committer ${AUTHOR}`, '', `${label} ${i}`, ''].join('\n')));
  const bundle = writeBundle({ refs: commits.map((c, i) => [c.oid, `refs/heads/c${i}`]), objects: [blob, tree, ...commits] });
  return { commits: commits.map((c) => c.oid), bundle, bundleRef: `sha256:${sha256(bundle)}` };
}
