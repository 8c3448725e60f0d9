// Published RFC 6962 vectors (sources in test/vectors/rfc6962/README.md).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  compactTreeRoot,
  consistencyProof,
  consistencyProofFrom,
  EMPTY_ROOT,
  frontierNodes,
  hashChildren,
  hashLeaf,
  inclusionProof,
  inclusionProofFrom,
  rootFromLeafHashes,
  rootHashFrom,
  verifyConsistency,
  verifyInclusion,
} from '../../src/log/merkle.ts';
import { MemoryTree } from '../../src/log/memory-tree.ts';

const dir = new URL('../vectors/rfc6962/', import.meta.url);
const load = <T>(name: string): T => JSON.parse(readFileSync(new URL(name, dir), 'utf8')) as T;

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

interface ReferenceTree {
  leafInputs: string[];
  nodeHashes: string[][];
  rootHashes: string[];
  inclusionProofs: { index: number; size: number; proof: string[] }[];
  consistencyProofs: { size1: number; size2: number; proof: string[] }[];
  hasher: { desc: string; kind: 'empty' | 'leaf' | 'node'; input?: string; left?: string; right?: string; want: string }[];
}

interface InclusionProbe {
  file: string;
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

interface ConsistencyProbe {
  file: string;
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

/**
 * Probes proofboard judges differently on purpose, with proofboard's verdict (ok or not); each reason is in
 * test/vectors/rfc6962/README.md.
 */
const KNOWN_DIFFERENCES: Record<string, boolean> = {
  // 12-byte placeholder roots: proofboard rejects any root that is not 32 bytes.
  'testdata/consistency/additional/sizes-are-equal-one-and-proof-is-empty.json': false,
};

const ref = load<ReferenceTree>('reference-tree.json');
const leafHashes = ref.leafInputs.map((d) => hashLeaf(hex(d)));

describe('RFC 6962 hashing (transparency-dev rfc6962_test.go)', () => {
  for (const v of ref.hasher) {
    it(v.desc, () => {
      const got =
        v.kind === 'empty' ? EMPTY_ROOT : v.kind === 'leaf' ? hashLeaf(hex(v.input!)) : hashChildren(hex(v.left!), hex(v.right!));
      expect(toHex(got)).toBe(v.want);
    });
  }
});

describe('reference tree of 8 leaves (transparency-dev testonly)', () => {
  it('leaf hashes are the level-0 node hashes', () => {
    expect(leafHashes.map(toHex)).toEqual(ref.nodeHashes[0]);
  });

  it('MTH of every prefix matches the published roots, from the array, the compact tree and the node store', async () => {
    const tree = new MemoryTree();
    expect(toHex(rootFromLeafHashes([]))).toBe(ref.rootHashes[0]);
    expect(toHex(tree.root())).toBe(ref.rootHashes[0]);
    for (let n = 1; n <= leafHashes.length; n++) {
      tree.appendData(hex(ref.leafInputs[n - 1]!));
      expect(toHex(rootFromLeafHashes(leafHashes.slice(0, n)))).toBe(ref.rootHashes[n]);
      expect(toHex(compactTreeRoot(tree.compactTree))).toBe(ref.rootHashes[n]);
      expect(toHex(await rootHashFrom(tree, n))).toBe(ref.rootHashes[n]);
    }
    for (let n = 0; n <= leafHashes.length; n++) expect(toHex(await rootHashFrom(tree, n))).toBe(ref.rootHashes[n]);
  });

  it('every stored node and every frontier matches the published node hashes', async () => {
    const tree = new MemoryTree();
    for (const d of ref.leafInputs) tree.appendData(hex(d));
    for (const [level, hashes] of ref.nodeHashes.entries()) {
      const got = await tree.readNodeHashes(hashes.map((_, index) => ({ level, index })));
      expect(got.map(toHex)).toEqual(hashes);
    }
    const partial = new MemoryTree();
    for (const d of ref.leafInputs) {
      partial.appendData(hex(d));
      const want = frontierNodes(partial.size).map(({ level, index }) => ref.nodeHashes[level]![index]);
      expect(partial.compactTree.hashes.map(toHex)).toEqual(want);
    }
  });

  it('inclusion proofs match the Certificate Transparency reference proofs', async () => {
    const tree = new MemoryTree();
    for (const d of ref.leafInputs) tree.appendData(hex(d));
    for (const { index, size, proof } of ref.inclusionProofs) {
      expect(inclusionProof(leafHashes.slice(0, size), index).map(toHex)).toEqual(proof);
      expect((await inclusionProofFrom(tree, index, size)).map(toHex)).toEqual(proof);
      const root = hex(ref.rootHashes[size]!);
      expect(verifyInclusion({ leafHash: leafHashes[index]!, index, size, proof: proof.map(hex), root })).toEqual({ ok: true });
    }
  });

  it('consistency proofs match the Certificate Transparency reference proofs', async () => {
    const tree = new MemoryTree();
    for (const d of ref.leafInputs) tree.appendData(hex(d));
    for (const { size1, size2, proof } of ref.consistencyProofs) {
      expect(consistencyProof(leafHashes.slice(0, size2), size1).map(toHex)).toEqual(proof);
      expect((await consistencyProofFrom(tree, size1, size2)).map(toHex)).toEqual(proof);
      const claim = { size1, size2, root1: hex(ref.rootHashes[size1]!), root2: hex(ref.rootHashes[size2]!), proof: proof.map(hex) };
      expect(verifyConsistency(claim)).toEqual({ ok: true });
    }
  });
});

describe('transparency-dev inclusion probes', () => {
  const probes = load<InclusionProbe[]>('transparency-dev-inclusion.json');
  it('has the published probe set', () => expect(probes.length).toBeGreaterThan(90));
  for (const p of probes) {
    it(`${p.file}: ${p.desc}`, () => {
      const result = verifyInclusion({
        leafHash: b64(p.leafHash),
        index: p.leafIdx,
        size: p.treeSize,
        proof: (p.proof ?? []).map(b64),
        root: b64(p.root),
      });
      expect(result.ok).toBe(!p.wantErr);
    });
  }
});

describe('transparency-dev consistency probes', () => {
  const probes = load<ConsistencyProbe[]>('transparency-dev-consistency.json');
  it('has the published probe set', () => expect(probes.length).toBeGreaterThan(90));
  for (const p of probes) {
    it(`${p.file}: ${p.desc}`, () => {
      const result = verifyConsistency({
        size1: p.size1,
        size2: p.size2,
        root1: b64(p.root1),
        root2: b64(p.root2),
        proof: (p.proof ?? []).map(b64),
      });
      const want = p.file in KNOWN_DIFFERENCES ? KNOWN_DIFFERENCES[p.file]! : !p.wantErr;
      expect(result.ok).toBe(want);
    });
  }
  it('the known differences name real probes whose published verdict is the opposite', () => {
    for (const [file, ours] of Object.entries(KNOWN_DIFFERENCES)) {
      const p = probes.find((q) => q.file === file);
      expect(p, file).toBeDefined();
      expect(!p!.wantErr).toBe(!ours);
    }
  });
});
