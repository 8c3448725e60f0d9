// The transparency log's storage: the stored perfect-subtree hashes as a NodeHashReader (src/log/merkle.ts), and
// the signer for checkpoints. Contract (docs/transparency-log.md, "Storage contract"): a node row is written with
// its leaf in one transaction and never changed, so proofs for any committed size read only committed rows.
import { and, eq, inArray, or } from 'drizzle-orm';
import type { Db, Tx } from '../../../db/client.ts';
import { logNodes } from '../../../db/schema.ts';
import { fromHex } from '../../attest/bytes.ts';
import { signerFromSeed, type Hash, type NodeHashReader, type NodeId, type NoteSigner } from '../../log/index.ts';
import type { LogSigner } from '../context.ts';

/** Reads node hashes in one query (a proof or a compact tree needs at most ~2·log2 n nodes). */
export function dbNodeReader(db: Db | Tx): NodeHashReader {
  return {
    async readNodeHashes(nodes: readonly NodeId[]): Promise<readonly Hash[]> {
      if (nodes.length === 0) return [];
      const byLevel = new Map<number, Set<number>>();
      for (const n of nodes) byLevel.set(n.level, (byLevel.get(n.level) ?? new Set()).add(n.index));
      const rows = await db
        .select()
        .from(logNodes)
        .where(or(...[...byLevel].map(([level, idxs]) => and(eq(logNodes.level, level), inArray(logNodes.idx, [...idxs])))));
      const found = new Map<string, Hash>();
      for (const r of rows) found.set(`${r.level}/${r.idx}`, fromHex(r.hash, `log node (${r.level}, ${r.idx})`, 32));
      return nodes.map(({ level, index }) => {
        const hash = found.get(`${level}/${index}`);
        // A missing committed node means the store was damaged: a fault, never a guess (merkle.ts contract).
        if (!hash) throw new Error(`log node (${level}, ${index}) is missing from the store`);
        return hash;
      });
    },
  };
}

const signers = new WeakMap<LogSigner, NoteSigner>();

/** The C2SP note signer for the log key; the key name is the origin (tlog-checkpoint "Signatures"). */
export function noteSignerOf(logSigner: LogSigner): NoteSigner {
  let signer = signers.get(logSigner);
  if (!signer) {
    signer = signerFromSeed(logSigner.origin, logSigner.secretKey);
    signers.set(logSigner, signer);
  }
  return signer;
}
