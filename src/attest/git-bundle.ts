// A pure reader of git bundles: bytes in, the commits they hold and their parents out. No git process runs here.
//
// Threat: a bundle is hostile input uploaded by anyone, read in the API process before a claim is accepted. So the
// reader never throws on bad bytes (every malformation is a typed refusal), and its work is bounded by caps on the
// header, the object count, the inflated bytes (zlib bombs) and the delta chain depth. It keeps only what intake
// needs: the commits (hashed here, as git hashes them, so a commit's name is proven by its bytes) and their parents.
// Trees and blobs are inflated to find where the next object starts, then dropped; git checks them again inside the
// replay sandbox (src/replay/git-checkout.ts).
//
// Formats: gitformat-bundle(5) (v2 and v3 headers), gitformat-pack(5) (pack v2/v3, object headers, OFS_DELTA and
// REF_DELTA, the delta instruction stream, the trailing checksum), git's commit object ("tree", then "parent" lines).
import { createHash } from 'node:crypto';
import { inflateSync } from 'node:zlib';

export type ObjectFormat = 'sha1' | 'sha256';

export type GitBundle = {
  ok: true;
  version: 2 | 3;
  objectFormat: ObjectFormat;
  /** Ref name -> object id, as the header lists them. */
  tips: Map<string, string>;
  /** Commits the bundle needs but does not hold: a repository without them cannot unbundle it. */
  prerequisites: string[];
  /** Every commit in the pack, by its id, with its parents in order. */
  commits: Map<string, string[]>;
  objectCount: number;
};

export type GitBundleRejection =
  /** No bundle signature, or a header git would not read. */
  | 'not_a_bundle'
  /** A bundle version or capability this reader does not know (a filtered bundle misses objects on purpose). */
  | 'unsupported'
  /** The pack's framing is wrong: signature, version, truncated, checksum, trailing bytes. */
  | 'bad_pack'
  /** One object is malformed: bad zlib stream, size not as declared, bad delta, bad commit. */
  | 'bad_object'
  /** A cap was reached: header, objects, inflated bytes, delta depth. */
  | 'too_large';

export type GitBundleResult = GitBundle | { ok: false; reason: GitBundleRejection; message: string };

export type GitBundleLimits = {
  /** Bytes of the whole bundle. */
  maxBundleBytes: number;
  /** Lines of the header (prerequisites and refs). */
  maxHeaderLines: number;
  /** Objects the pack may declare. */
  maxObjects: number;
  /** Inflated bytes of all objects together, plus the bytes delta resolution produces: the zlib-bomb bound. */
  maxInflatedBytes: number;
  /** Inflated bytes of one object. */
  maxObjectBytes: number;
  /** Deltas on deltas: each link costs a copy of the object. */
  maxDeltaDepth: number;
};

export const DEFAULT_GIT_BUNDLE_LIMITS: GitBundleLimits = {
  maxBundleBytes: 256 * 1024 ** 2,
  maxHeaderLines: 10_000,
  maxObjects: 500_000,
  maxInflatedBytes: 1024 ** 3,
  maxObjectBytes: 64 * 1024 ** 2,
  maxDeltaDepth: 1_000,
};

const HASH = { sha1: { node: 'sha1', bytes: 20 }, sha256: { node: 'sha256', bytes: 32 } } as const;
const OBJ_COMMIT = 1;
const OBJ_TREE = 2;
const OBJ_BLOB = 3;
const OBJ_TAG = 4;
const OBJ_OFS_DELTA = 6;
const OBJ_REF_DELTA = 7;

/** A refusal thrown inside the reader and turned into a value at its one entry point. */
class Refusal extends Error {
  constructor(
    readonly reason: GitBundleRejection,
    message: string,
  ) {
    super(message);
  }
}

export function readGitBundle(bytes: Uint8Array, limits: Partial<GitBundleLimits> = {}): GitBundleResult {
  const lim = { ...DEFAULT_GIT_BUNDLE_LIMITS, ...limits };
  try {
    if (bytes.length > lim.maxBundleBytes) throw new Refusal('too_large', `bundle of ${bytes.length} bytes is over the limit of ${lim.maxBundleBytes}`);
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    const header = readHeader(buf, lim);
    const commits = readPack(buf.subarray(header.packStart), header.objectFormat, lim);
    return {
      ok: true,
      version: header.version,
      objectFormat: header.objectFormat,
      tips: header.tips,
      prerequisites: header.prerequisites,
      commits: commits.commits,
      objectCount: commits.objectCount,
    };
  } catch (e) {
    if (e instanceof Refusal) return { ok: false, reason: e.reason, message: e.message };
    // Anything else thrown while reading hostile bytes (a RangeError from a Buffer read) is still the input's fault.
    if (e instanceof RangeError || e instanceof TypeError) return { ok: false, reason: 'bad_pack', message: `unreadable bundle: ${e.message}` };
    throw e;
  }
}

/**
 * Whether `ancestor` is reachable from `descendant` through parent links, the commit itself excluded (a commit is
 * not its own ancestor). Iterative; visits each commit once and at most maxSteps of them (false past that), so a
 * long or wide history costs bounded work.
 */
export function isAncestor(commits: ReadonlyMap<string, readonly string[]>, descendant: string, ancestor: string, maxSteps = commits.size): boolean {
  const seen = new Set<string>([descendant]);
  const stack = [...(commits.get(descendant) ?? [])];
  let steps = 0;
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (next === ancestor) return true;
    if (seen.has(next)) continue;
    seen.add(next);
    if (++steps > maxSteps) return false;
    for (const p of commits.get(next) ?? []) if (!seen.has(p)) stack.push(p);
  }
  return false;
}

// --- header (gitformat-bundle(5)) ---

type Header = { version: 2 | 3; objectFormat: ObjectFormat; tips: Map<string, string>; prerequisites: string[]; packStart: number };

const SIGNATURES = { '# v2 git bundle': 2, '# v3 git bundle': 3 } as const;

function readHeader(buf: Buffer, lim: GitBundleLimits): Header {
  let pos = 0;
  let lines = 0;
  const nextLine = (): string => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0) throw new Refusal('not_a_bundle', 'header ends without a blank line');
    if (++lines > lim.maxHeaderLines) throw new Refusal('too_large', `header has over ${lim.maxHeaderLines} lines`);
    const line = buf.toString('latin1', pos, end);
    pos = end + 1;
    return line;
  };
  // Read the signature from at most its own length: random bytes without a newline must not scan the whole buffer.
  const sigEnd = buf.indexOf(0x0a);
  if (sigEnd < 0 || sigEnd > 32) throw new Refusal('not_a_bundle', 'no git bundle signature');
  const signature = nextLine();
  const version = SIGNATURES[signature as keyof typeof SIGNATURES];
  if (version === undefined) {
    throw new Refusal(signature.startsWith('# v') && signature.endsWith(' git bundle') ? 'unsupported' : 'not_a_bundle', `not a v2 or v3 git bundle signature: ${JSON.stringify(signature.slice(0, 40))}`);
  }
  let objectFormat: ObjectFormat = 'sha1';
  const tips = new Map<string, string>();
  const prerequisites: string[] = [];
  let line = nextLine();
  // v3 capabilities come first, one per line (gitformat-bundle(5) "Capabilities").
  if (version === 3) {
    for (; line.startsWith('@'); line = nextLine()) {
      const [key, value] = splitOnce(line.slice(1), '=');
      if (key === 'object-format' && (value === 'sha1' || value === 'sha256')) objectFormat = value;
      // A filtered bundle leaves objects out on purpose, and any other capability changes how to read the rest.
      else throw new Refusal('unsupported', `bundle capability ${JSON.stringify(line.slice(0, 60))} is not supported`);
    }
  }
  const oid = hexOid(HASH[objectFormat].bytes);
  for (; line !== ''; line = nextLine()) {
    if (line.startsWith('-')) {
      // "-<oid> [comment]": a commit the receiving repository must already have.
      const [id] = splitOnce(line.slice(1), ' ');
      if (!oid.test(id)) throw new Refusal('not_a_bundle', `bad prerequisite line ${JSON.stringify(line.slice(0, 80))}`);
      prerequisites.push(id);
    } else {
      const [id, ref] = splitOnce(line, ' ');
      if (!oid.test(id) || ref === undefined || ref === '') throw new Refusal('not_a_bundle', `bad ref line ${JSON.stringify(line.slice(0, 80))}`);
      tips.set(ref, id);
    }
  }
  return { version, objectFormat, tips, prerequisites, packStart: pos };
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

const OID_RE = { 20: /^[0-9a-f]{40}$/, 32: /^[0-9a-f]{64}$/ } as const;
function hexOid(bytes: 20 | 32): RegExp {
  return OID_RE[bytes];
}

// --- pack (gitformat-pack(5)) ---

type Entry =
  | { state: 'commit'; oid: string; body: Buffer; depth: number }
  | { state: 'other'; depth: number }
  /** A delta whose base is not known yet (a REF_DELTA to a later object, or a delta of such a delta). */
  | { state: 'pending'; delta: Buffer; depth: number };

function readPack(pack: Buffer, format: ObjectFormat, lim: GitBundleLimits): { commits: Map<string, string[]>; objectCount: number } {
  const { node: hashName, bytes: hashBytes } = HASH[format];
  if (pack.length < 12 + hashBytes) throw new Refusal('bad_pack', `pack of ${pack.length} bytes is shorter than its header and checksum`);
  if (pack.toString('latin1', 0, 4) !== 'PACK') throw new Refusal('bad_pack', 'no PACK signature after the header');
  const version = pack.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw new Refusal('bad_pack', `pack version ${version} is not 2 or 3`);
  const count = pack.readUInt32BE(8);
  if (count > lim.maxObjects) throw new Refusal('too_large', `pack declares ${count} objects, over the limit of ${lim.maxObjects}`);
  const bodyEnd = pack.length - hashBytes;
  // The checksum first: a pack that was cut or altered is refused before any inflating.
  const checksum = createHash(hashName).update(pack.subarray(0, bodyEnd)).digest();
  if (!checksum.equals(pack.subarray(bodyEnd))) throw new Refusal('bad_pack', 'pack checksum does not match its bytes (truncated or altered)');

  const budget = { left: lim.maxInflatedBytes };
  const spend = (n: number, what: string) => {
    budget.left -= n;
    if (budget.left < 0) throw new Refusal('too_large', `${what}: over the limit of ${lim.maxInflatedBytes} inflated bytes in all`);
  };
  const byOffset = new Map<number, Entry>();
  const commits = new Map<string, Entry & { state: 'commit' }>();
  // Deltas waiting for their base, by the base's key ("o<offset>" or "i<oid>"), resolved once the base is.
  const waiting = new Map<string, number[]>();
  const hashCommit = (body: Buffer) => createHash(hashName).update(`commit ${body.length}\0`).update(body).digest('hex');

  const settle = (offset: number, entry: Entry) => {
    byOffset.set(offset, entry);
    // Resolve every delta this one unblocks, iteratively (a chain of waiting deltas must not recurse).
    const work: [number, Entry][] = [[offset, entry]];
    while (work.length > 0) {
      const [off, done] = work.pop()!;
      const keys = [`o${off}`];
      if (done.state === 'commit') {
        keys.push(`i${done.oid}`);
        if (!commits.has(done.oid)) commits.set(done.oid, done);
      }
      for (const key of keys) {
        const waiters = waiting.get(key);
        if (!waiters) continue;
        waiting.delete(key);
        for (const w of waiters) {
          const pending = byOffset.get(w);
          if (pending?.state !== 'pending') continue;
          const resolved = resolveDelta(done, pending.delta, lim, spend, hashCommit);
          byOffset.set(w, resolved);
          work.push([w, resolved]);
        }
      }
    }
  };

  let pos = 12;
  for (let i = 0; i < count; i++) {
    if (pos >= bodyEnd) throw new Refusal('bad_pack', `pack ends after ${i} of ${count} objects`);
    const offset = pos;
    // Object header: 3-bit type, then the inflated size in little-endian 7-bit groups.
    let c = pack[pos++]!;
    const type = (c >> 4) & 7;
    let size = c & 0x0f;
    let shift = 4;
    while (c & 0x80) {
      if (pos >= bodyEnd || shift > 49) throw new Refusal('bad_pack', `object at ${offset}: bad size header`);
      c = pack[pos++]!;
      size += (c & 0x7f) * 2 ** shift;
      shift += 7;
    }
    if (size > lim.maxObjectBytes) throw new Refusal('too_large', `object at ${offset} declares ${size} bytes, over the limit of ${lim.maxObjectBytes}`);
    let base: string | null = null;
    if (type === OBJ_OFS_DELTA) {
      // Base offset, big-endian 7-bit groups with the "+1 per continuation" of gitformat-pack(5).
      c = pack[pos++]!;
      let rel = c & 0x7f;
      while (c & 0x80) {
        if (pos >= bodyEnd || rel > 2 ** 40) throw new Refusal('bad_pack', `object at ${offset}: bad delta base offset`);
        c = pack[pos++]!;
        rel = (rel + 1) * 128 + (c & 0x7f);
      }
      if (rel === 0 || rel > offset) throw new Refusal('bad_pack', `object at ${offset}: delta base offset ${rel} outside the pack`);
      base = `o${offset - rel}`;
      if (!byOffset.has(offset - rel)) throw new Refusal('bad_pack', `object at ${offset}: delta base at ${offset - rel} is not an object`);
    } else if (type === OBJ_REF_DELTA) {
      if (pos + hashBytes > bodyEnd) throw new Refusal('bad_pack', `object at ${offset}: truncated delta base name`);
      base = `i${pack.toString('hex', pos, pos + hashBytes)}`;
      pos += hashBytes;
    } else if (type !== OBJ_COMMIT && type !== OBJ_TREE && type !== OBJ_BLOB && type !== OBJ_TAG) {
      throw new Refusal('bad_pack', `object at ${offset}: unknown type ${type}`);
    }
    spend(size, `object at ${offset}`);
    const { data, consumed } = inflateObject(pack.subarray(pos, bodyEnd), size, offset);
    pos += consumed;

    if (base === null) {
      // Only commits are kept; trees, blobs and tags are dropped once their end is known.
      settle(offset, type === OBJ_COMMIT ? commitEntry(data, 0, hashCommit) : { state: 'other', depth: 0 });
      continue;
    }
    const known = base.startsWith('o') ? byOffset.get(Number(base.slice(1))) : commits.get(base.slice(1));
    if (known && known.state !== 'pending') {
      settle(offset, resolveDelta(known, data, lim, spend, hashCommit));
    } else {
      // A REF_DELTA's base may come later in the pack, or be a tree or blob (never hashed here), or be outside
      // the pack (a thin pack's prerequisite): it waits, and whatever still waits at the end is not a commit we hold.
      byOffset.set(offset, { state: 'pending', delta: data, depth: (known?.depth ?? 0) + 1 });
      const list = waiting.get(base) ?? [];
      list.push(offset);
      waiting.set(base, list);
    }
  }
  if (pos !== bodyEnd) throw new Refusal('bad_pack', `${bodyEnd - pos} stray bytes between the last object and the checksum`);
  const out = new Map<string, string[]>();
  for (const [oid, entry] of commits) out.set(oid, parseParents(entry.body, oid, format));
  return { commits: out, objectCount: count };
}

function inflateObject(input: Buffer, size: number, offset: number): { data: Buffer; consumed: number } {
  let result: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    // maxOutputLength: a stream that inflates past its declared size stops here instead of filling memory.
    result = inflateSync(input, { info: true, maxOutputLength: Math.max(size, 1) }) as unknown as typeof result;
  } catch (e) {
    throw new Refusal('bad_object', `object at ${offset}: ${(e as Error).message}`);
  }
  if (result.buffer.length !== size) throw new Refusal('bad_object', `object at ${offset}: inflates to ${result.buffer.length} bytes, declared ${size}`);
  const consumed = result.engine.bytesWritten;
  if (!(consumed > 0) || consumed > input.length) throw new Refusal('bad_pack', `object at ${offset}: zlib stream not ended`);
  return { data: result.buffer, consumed };
}

type Spend = (n: number, what: string) => void;

function resolveDelta(base: Entry, delta: Buffer, lim: GitBundleLimits, spend: Spend, hashCommit: (b: Buffer) => string): Entry {
  const depth = base.depth + 1;
  if (depth > lim.maxDeltaDepth) throw new Refusal('too_large', `delta chain deeper than ${lim.maxDeltaDepth}`);
  // A delta's type is its base's: deltas of trees and blobs are not applied at all.
  if (base.state !== 'commit') return { state: 'other', depth };
  return commitEntry(applyDelta(base.body, delta, lim, spend), depth, hashCommit);
}

function commitEntry(body: Buffer, depth: number, hashCommit: (b: Buffer) => string): Entry {
  return { state: 'commit', oid: hashCommit(body), body, depth };
}

/** gitformat-pack(5) "Deltified representation": source size, target size, then copy and insert instructions. */
function applyDelta(source: Buffer, delta: Buffer, lim: GitBundleLimits, spend: Spend): Buffer {
  let pos = 0;
  const varint = () => {
    let n = 0;
    let shift = 0;
    let c: number;
    do {
      if (pos >= delta.length || shift > 49) throw new Refusal('bad_object', 'delta: bad size header');
      c = delta[pos++]!;
      n += (c & 0x7f) * 2 ** shift;
      shift += 7;
    } while (c & 0x80);
    return n;
  };
  const sourceSize = varint();
  const targetSize = varint();
  if (sourceSize !== source.length) throw new Refusal('bad_object', `delta: source of ${source.length} bytes, delta expects ${sourceSize}`);
  if (targetSize > lim.maxObjectBytes) throw new Refusal('too_large', `delta: target of ${targetSize} bytes over the limit of ${lim.maxObjectBytes}`);
  spend(targetSize, 'delta');
  const out = Buffer.allocUnsafe(targetSize);
  let o = 0;
  while (pos < delta.length) {
    const cmd = delta[pos++]!;
    if (cmd & 0x80) {
      let off = 0;
      let n = 0;
      for (let b = 0; b < 4; b++) if (cmd & (1 << b)) off += (delta[pos++] ?? fail()) * 2 ** (8 * b);
      for (let b = 0; b < 3; b++) if (cmd & (0x10 << b)) n += (delta[pos++] ?? fail()) * 2 ** (8 * b);
      if (n === 0) n = 0x10000;
      if (off + n > source.length || o + n > targetSize) throw new Refusal('bad_object', 'delta: copy outside the source or target');
      source.copy(out, o, off, off + n);
      o += n;
    } else if (cmd !== 0) {
      if (pos + cmd > delta.length || o + cmd > targetSize) throw new Refusal('bad_object', 'delta: insert outside the delta or target');
      delta.copy(out, o, pos, pos + cmd);
      pos += cmd;
      o += cmd;
    } else {
      throw new Refusal('bad_object', 'delta: reserved instruction 0');
    }
  }
  if (o !== targetSize) throw new Refusal('bad_object', `delta: produced ${o} bytes, declared ${targetSize}`);
  return out;
}

function fail(): never {
  throw new Refusal('bad_object', 'delta: truncated instruction');
}

/**
 * A commit's header as git parses it (commit.c parse_commit_buffer): "tree <oid>" first, then zero or more
 * "parent <oid>" lines. Anything else there is a malformed commit git would refuse.
 */
function parseParents(body: Buffer, oid: string, format: ObjectFormat): string[] {
  const hex = hexOid(HASH[format].bytes);
  const headerEnd = body.indexOf('\n\n');
  const text = body.toString('latin1', 0, headerEnd < 0 ? body.length : headerEnd);
  const lines = text.split('\n');
  const tree = lines[0]?.startsWith('tree ') ? lines[0].slice(5) : '';
  if (!hex.test(tree)) throw new Refusal('bad_object', `commit ${oid}: does not start with a tree line`);
  const parents: string[] = [];
  for (let i = 1; i < lines.length && lines[i]!.startsWith('parent '); i++) {
    const p = lines[i]!.slice(7);
    if (!hex.test(p)) throw new Refusal('bad_object', `commit ${oid}: bad parent line`);
    parents.push(p);
  }
  return parents;
}
