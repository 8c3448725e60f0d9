// In-memory Merkle tree and node readers: the reference store for tests, and a whole-tree view for clients.
import {
  appendLeaf,
  compactTreeRoot,
  EMPTY_COMPACT_TREE,
  hashLeaf,
  HASH_BYTES,
  rootFromLeafHashes,
  type CompactTree,
  type Hash,
  type NodeHashReader,
  type NodeId,
} from './merkle.ts';

/** An append-only tree that keeps every stored node, as a database-backed log would. */
export class MemoryTree implements NodeHashReader {
  #levels: Hash[][] = [];
  #compact: CompactTree = EMPTY_COMPACT_TREE;

  get size(): number {
    return this.#compact.size;
  }

  get compactTree(): CompactTree {
    return this.#compact;
  }

  /** Appends the leaf with these bytes; returns its index. */
  appendData(data: Uint8Array): number {
    return this.appendLeafHash(hashLeaf(data));
  }

  appendLeafHash(leafHash: Hash): number {
    const index = this.#compact.size;
    const { tree, newNodes } = appendLeaf(this.#compact, leafHash);
    for (const node of newNodes) {
      (this.#levels[node.level] ??= [])[node.index] = node.hash;
    }
    this.#compact = tree;
    return index;
  }

  root(): Hash {
    return compactTreeRoot(this.#compact);
  }

  async readNodeHashes(nodes: readonly NodeId[]): Promise<readonly Hash[]> {
    return nodes.map(({ level, index }) => {
      const hash = this.#levels[level]?.[index];
      if (hash === undefined) throw new Error(`node (${level}, ${index}) is not stored`);
      return hash;
    });
  }
}

/**
 * A `NodeHashReader` for stores that keep only leaf hashes: each node is recomputed from its 2^level leaves.
 * Proofs then cost O(n) leaf reads instead of O(log n) node reads; fine for small logs and for tests.
 * `readLeafHashes(start, end)` must return exactly the hashes of leaves [start, end) and throw on a fault.
 */
export function leafHashNodeReader(
  readLeafHashes: (start: number, end: number) => Promise<readonly Hash[]>,
): NodeHashReader {
  return {
    async readNodeHashes(nodes) {
      const out: Hash[] = [];
      for (const { level, index } of nodes) {
        const width = 2 ** level;
        const leaves = await readLeafHashes(index * width, (index + 1) * width);
        if (leaves.length !== width || leaves.some((h) => h.length !== HASH_BYTES)) {
          throw new Error(`leaf store returned a malformed range for node (${level}, ${index})`);
        }
        out.push(rootFromLeafHashes(leaves));
      }
      return out;
    },
  };
}
