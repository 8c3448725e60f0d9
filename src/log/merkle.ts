// RFC 6962 §2.1 Merkle hash trees: hashing, proofs and their verification (RFC 9162 §2.1.3.2, §2.1.4.2).
//
// Two ways to build proofs:
// - from an array of leaf hashes (`rootFromLeafHashes`, `inclusionProof`, `consistencyProof`): a direct
//   transcription of the RFC 6962 definitions MTH, PATH and PROOF/SUBPROOF, used as the reference in tests and
//   by clients that hold a whole (small) tree;
// - from a store of perfect-subtree hashes (`rootHashFrom`, `inclusionProofFrom`, `consistencyProofFrom`) through
//   a `NodeHashReader`, so a server never loads all leaves. `appendLeaf` says which nodes to store per leaf.
//
// Sizes and indexes are JS numbers limited to safe integers; all tree arithmetic below uses division, not the
// 32-bit bitwise operators, so it stays exact up to 2^53.
import { createHash } from 'node:crypto';

export const HASH_BYTES = 32;

export type Hash = Uint8Array;

/** SHA-256 of the empty string: MTH({}) (RFC 6962 §2.1). */
export const EMPTY_ROOT: Hash = sha256([]);

function sha256(parts: readonly Uint8Array[]): Hash {
  // node:crypto rather than a JS SHA-256: appends and proofs of large logs hash a lot.
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

const LEAF_PREFIX = new Uint8Array([0x00]);
const NODE_PREFIX = new Uint8Array([0x01]);

/** MTH({d}) = SHA-256(0x00 || d). The prefix keeps a leaf from ever hashing like an interior node (RFC 6962 §2.1). */
export function hashLeaf(data: Uint8Array): Hash {
  return sha256([LEAF_PREFIX, data]);
}

/** SHA-256(0x01 || left || right) (RFC 6962 §2.1). */
export function hashChildren(left: Hash, right: Hash): Hash {
  return sha256([NODE_PREFIX, left, right]);
}

export function equalHashes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// Tree arithmetic on safe integers.

function isTreeSize(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

function assertTreeSize(n: number, field: string): void {
  if (!isTreeSize(n)) throw new RangeError(`${field}: expected a non-negative safe integer, got ${n}`);
}

/** The largest power of two strictly less than n, for n > 1: the split point k of RFC 6962 §2.1. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  while (n % 2 === 0) n /= 2;
  return n === 1;
}

const half = (n: number): number => Math.floor(n / 2);
const isOdd = (n: number): boolean => n % 2 === 1;

// ---------------------------------------------------------------------------------------------------------------
// Reference definitions over an array of leaf hashes (RFC 6962 §2.1, §2.1.1, §2.1.2).

/** MTH(D[n]) given the leaf hashes of D. */
export function rootFromLeafHashes(leafHashes: readonly Hash[]): Hash {
  return mth(leafHashes, 0, leafHashes.length);
}

function mth(leaves: readonly Hash[], start: number, end: number): Hash {
  const n = end - start;
  if (n === 0) return EMPTY_ROOT;
  if (n === 1) return leaves[start]!;
  const k = splitPoint(n);
  return hashChildren(mth(leaves, start, start + k), mth(leaves, start + k, end));
}

/** PATH(m, D[n]): the audit path of leaf `index` in the tree of all `leafHashes` (RFC 6962 §2.1.1). */
export function inclusionProof(leafHashes: readonly Hash[], index: number): Hash[] {
  const size = leafHashes.length;
  assertTreeSize(index, 'index');
  if (index >= size) throw new RangeError(`index: ${index} is not below the tree size ${size}`);
  return inclusionRanges(index, size).map(([s, e]) => mth(leafHashes, s, e));
}

/** PROOF(m, D[n]): a consistency proof from the first `size1` leaves to all `leafHashes` (RFC 6962 §2.1.2). */
export function consistencyProof(leafHashes: readonly Hash[], size1: number): Hash[] {
  assertTreeSize(size1, 'size1');
  if (size1 > leafHashes.length) throw new RangeError(`size1: ${size1} exceeds the tree size ${leafHashes.length}`);
  return consistencyRanges(size1, leafHashes.length).map(([s, e]) => mth(leafHashes, s, e));
}

// A proof is a list of subtree hashes; each one is MTH of a leaf range [start, end). These two functions follow
// the recursive definitions and return the ranges, so the array and the stored-node versions share one source.
type LeafRange = readonly [start: number, end: number];

function inclusionRanges(index: number, size: number): LeafRange[] {
  // PATH(m, D[start:end]) unrolled: the recursion appends a sibling after recursing, so collect top-down and
  // reverse.
  let start = 0;
  let end = size;
  const stack: LeafRange[] = [];
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (index < start + k) {
      stack.push([start + k, end]);
      end = start + k;
    } else {
      stack.push([start, start + k]);
      start = start + k;
    }
  }
  return stack.reverse();
}

function consistencyRanges(size1: number, size2: number): LeafRange[] {
  // PROOF(m, D[n]) = {} for m = n; m = 0 is outside RFC 6962's 0 < m definition and proves nothing, so also {}.
  if (size1 === 0 || size1 === size2) return [];
  const stack: LeafRange[] = [];
  let start = 0;
  let end = size2;
  let m = size1;
  let complete = true; // the `b` flag of SUBPROOF
  for (;;) {
    const n = end - start;
    if (m === n) {
      if (!complete) stack.push([start, end]);
      break;
    }
    const k = splitPoint(n);
    if (m <= k) {
      stack.push([start + k, end]);
      end = start + k;
    } else {
      stack.push([start, start + k]);
      start = start + k;
      m -= k;
      complete = false;
    }
  }
  return stack.reverse();
}

// ---------------------------------------------------------------------------------------------------------------
// Stored perfect subtrees.

/**
 * A perfect subtree: the 2^level leaves starting at index * 2^level. Level 0 nodes are the leaf hashes. Once
 * the tree has grown past its last leaf, a node's hash never changes, so stores can keep it forever.
 */
export interface NodeId {
  readonly level: number;
  readonly index: number;
}

export interface StoredNode extends NodeId {
  readonly hash: Hash;
}

/**
 * What a log store provides to build proofs without loading every leaf.
 *
 * Contract:
 * - `readNodeHashes` returns one hash per requested node, in the order requested. It is only ever asked for
 *   nodes that are complete in a tree size the caller has already committed (every node returned by
 *   `appendLeaf` for the leaves below that size).
 * - A missing node, or a hash that is not 32 bytes, is a storage fault: throw (the proof functions do not
 *   guess). Reads are idempotent and may be retried by the caller.
 * - Callers computing a proof for a tree size must read the size and the nodes in one consistent view (one
 *   transaction), or use a size already committed: committed nodes never change, so later appends are harmless.
 */
export interface NodeHashReader {
  readNodeHashes(nodes: readonly NodeId[]): Promise<readonly Hash[]>;
}

/** The perfect subtrees that make up the leaf range [start, end), left to right, largest first. */
function rangeNodes(start: number, end: number): NodeId[] {
  const out: NodeId[] = [];
  while (start < end) {
    // The largest aligned power of two that fits: aligned so the node exists as a perfect subtree.
    let width = 1;
    while (start % (width * 2) === 0 && start + width * 2 <= end) width *= 2;
    out.push({ level: Math.log2(width), index: start / width });
    start += width;
  }
  return out;
}

/**
 * The nodes whose hashes make up a tree of `size` leaves: one perfect subtree per set bit of `size`, largest
 * first. Its root is `rootFromFrontier` of their hashes.
 */
export function frontierNodes(size: number): NodeId[] {
  assertTreeSize(size, 'size');
  return rangeNodes(0, size);
}

/**
 * MTH of a range whose perfect subtrees are `hashes` (largest first), as RFC 6962 §2.1 splits it: the largest
 * power of two goes left, so the hashes fold from the right.
 */
export function rootFromFrontier(hashes: readonly Hash[]): Hash {
  if (hashes.length === 0) return EMPTY_ROOT;
  let acc = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) acc = hashChildren(hashes[i]!, acc);
  return acc;
}

async function hashRanges(reader: NodeHashReader, ranges: readonly LeafRange[]): Promise<Hash[]> {
  const perRange = ranges.map(([s, e]) => rangeNodes(s, e));
  const flat = perRange.flat();
  const hashes = flat.length === 0 ? [] : await reader.readNodeHashes(flat);
  if (hashes.length !== flat.length) {
    throw new Error(`node store returned ${hashes.length} hashes for ${flat.length} nodes`);
  }
  for (const [i, h] of hashes.entries()) {
    if (h.length !== HASH_BYTES) {
      const n = flat[i]!;
      throw new Error(`node store returned a ${h.length}-byte hash for node (${n.level}, ${n.index})`);
    }
  }
  let at = 0;
  return perRange.map((nodes) => {
    const part = hashes.slice(at, at + nodes.length);
    at += nodes.length;
    return rootFromFrontier(part);
  });
}

/** MTH of the first `size` leaves of a stored tree. */
export async function rootHashFrom(reader: NodeHashReader, size: number): Promise<Hash> {
  assertTreeSize(size, 'size');
  if (size === 0) return EMPTY_ROOT;
  const [root] = await hashRanges(reader, [[0, size]]);
  return root!;
}

/** PATH(index, D[size]) from a stored tree (RFC 6962 §2.1.1). Throws RangeError unless index < size. */
export async function inclusionProofFrom(reader: NodeHashReader, index: number, size: number): Promise<Hash[]> {
  assertTreeSize(index, 'index');
  assertTreeSize(size, 'size');
  if (index >= size) throw new RangeError(`index: ${index} is not below the tree size ${size}`);
  return hashRanges(reader, inclusionRanges(index, size));
}

/** PROOF(size1, D[size2]) from a stored tree (RFC 6962 §2.1.2). Throws RangeError unless size1 <= size2. */
export async function consistencyProofFrom(reader: NodeHashReader, size1: number, size2: number): Promise<Hash[]> {
  assertTreeSize(size1, 'size1');
  assertTreeSize(size2, 'size2');
  if (size1 > size2) throw new RangeError(`size1: ${size1} exceeds size2 ${size2}`);
  return hashRanges(reader, consistencyRanges(size1, size2));
}

// ---------------------------------------------------------------------------------------------------------------
// Appending: the compact range [0, size).

/**
 * The right edge of a tree: the hashes of `frontierNodes(size)`, largest first. Enough to append a leaf in
 * O(log n) and to compute the root, without any other node.
 */
export interface CompactTree {
  readonly size: number;
  readonly hashes: readonly Hash[];
}

export const EMPTY_COMPACT_TREE: CompactTree = Object.freeze({ size: 0, hashes: Object.freeze([]) as readonly Hash[] });

export function compactTreeRoot(tree: CompactTree): Hash {
  return rootFromFrontier(tree.hashes);
}

/**
 * Appends one leaf hash. Returns the new compact tree and every node completed by this leaf: the leaf itself
 * (level 0) and each perfect subtree it closes. Storing exactly these nodes, with the leaf, in one transaction
 * is what keeps a `NodeHashReader` complete.
 */
export function appendLeaf(tree: CompactTree, leafHash: Hash): { tree: CompactTree; newNodes: StoredNode[] } {
  if (leafHash.length !== HASH_BYTES) throw new RangeError(`leafHash: expected ${HASH_BYTES} bytes, got ${leafHash.length}`);
  if (tree.size + 1 > Number.MAX_SAFE_INTEGER) throw new RangeError('size: the tree is full');
  const hashes = tree.hashes.slice();
  const newNodes: StoredNode[] = [{ level: 0, index: tree.size, hash: leafHash }];
  let hash = leafHash;
  let level = 0;
  let index = tree.size;
  // Each trailing 1 bit of the old size is a perfect subtree of the same width waiting for a right sibling.
  for (let s = tree.size; isOdd(s); s = half(s)) {
    hash = hashChildren(hashes.pop()!, hash);
    level += 1;
    index = half(index);
    newNodes.push({ level, index, hash });
  }
  hashes.push(hash);
  return { tree: { size: tree.size + 1, hashes }, newNodes };
}

/** Rebuilds the compact tree of a stored tree of `size` leaves, for example after a restart. */
export async function compactTreeFrom(reader: NodeHashReader, size: number): Promise<CompactTree> {
  const nodes = frontierNodes(size);
  const hashes = nodes.length === 0 ? [] : await reader.readNodeHashes(nodes);
  if (hashes.length !== nodes.length || hashes.some((h) => h.length !== HASH_BYTES)) {
    throw new Error(`node store returned a malformed frontier for size ${size}`);
  }
  return { size, hashes: hashes.slice() };
}

// ---------------------------------------------------------------------------------------------------------------
// Verification (pure, synchronous; a failed check is a value).

export type ProofFailure =
  | 'invalid-size' // a size or index that is not a non-negative safe integer
  | 'index-out-of-range' // index >= size
  | 'size-order' // size1 > size2
  | 'bad-hash-length' // a leaf hash, root or proof element that is not 32 bytes
  | 'proof-too-short'
  | 'proof-too-long'
  | 'root-mismatch';

export type ProofResult = { ok: true } | { ok: false; reason: ProofFailure };

const fail = (reason: ProofFailure): ProofResult => ({ ok: false, reason });

/** A proof element longer than 32 bytes would otherwise let garbage ride along a valid proof. */
function allHashes(hashes: readonly Uint8Array[]): boolean {
  return hashes.every((h) => h.length === HASH_BYTES);
}

/** RFC 6962 proofs are at most 2·log2(n) long; this bounds the work an attacker can ask for. */
const MAX_PROOF_LENGTH = 128;

export interface InclusionClaim {
  readonly leafHash: Hash;
  readonly index: number;
  readonly size: number;
  readonly proof: readonly Hash[];
  readonly root: Hash;
}

/** Verifies that the leaf with hash `leafHash` is at `index` in the tree of `size` leaves with `root`. */
export function verifyInclusion(claim: InclusionClaim): ProofResult {
  const { leafHash, index, size, proof, root } = claim;
  if (!isTreeSize(index) || !isTreeSize(size)) return fail('invalid-size');
  if (index >= size) return fail('index-out-of-range');
  if (leafHash.length !== HASH_BYTES || root.length !== HASH_BYTES || !allHashes(proof)) {
    return fail('bad-hash-length');
  }
  if (proof.length > MAX_PROOF_LENGTH) return fail('proof-too-long');
  // RFC 9162 §2.1.3.2, steps 1-5.
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) return fail('proof-too-long');
    if (isOdd(fn) || fn === sn) {
      r = hashChildren(p, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) return fail('proof-too-short');
  return equalHashes(r, root) ? { ok: true } : fail('root-mismatch');
}

export interface ConsistencyClaim {
  readonly size1: number;
  readonly size2: number;
  readonly root1: Hash;
  readonly root2: Hash;
  readonly proof: readonly Hash[];
}

/**
 * Verifies that the tree of `size2` leaves with `root2` extends the tree of `size1` leaves with `root1`:
 * nothing logged before `size1` was changed or removed.
 *
 * Edge cases (RFC 9162 §2.1.4 defines proofs only for 0 < size1 < size2):
 * - size1 = size2: the proof must be empty and the roots equal.
 * - size1 = 0: every tree extends the empty tree; the proof must be empty and root1 must be the empty root.
 */
export function verifyConsistency(claim: ConsistencyClaim): ProofResult {
  const { size1, size2, root1, root2, proof } = claim;
  if (!isTreeSize(size1) || !isTreeSize(size2)) return fail('invalid-size');
  if (size1 > size2) return fail('size-order');
  if (root1.length !== HASH_BYTES || root2.length !== HASH_BYTES || !allHashes(proof)) {
    return fail('bad-hash-length');
  }
  if (size1 === 0) {
    if (proof.length > 0) return fail('proof-too-long');
    return equalHashes(root1, EMPTY_ROOT) ? { ok: true } : fail('root-mismatch');
  }
  if (size1 === size2) {
    if (proof.length > 0) return fail('proof-too-long');
    return equalHashes(root1, root2) ? { ok: true } : fail('root-mismatch');
  }
  if (proof.length === 0) return fail('proof-too-short');
  if (proof.length > MAX_PROOF_LENGTH) return fail('proof-too-long');

  // RFC 9162 §2.1.4.2, steps 1-7.
  // Step 2: when size1 is a power of two, the old root is itself a node of the new tree and is not sent.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return fail('proof-too-long');
    if (isOdd(fn) || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) return fail('proof-too-short');
  if (!equalHashes(fr, root1)) return fail('root-mismatch');
  return equalHashes(sr, root2) ? { ok: true } : fail('root-mismatch');
}
