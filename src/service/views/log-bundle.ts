// The log part of a claim bundle: each leaf of the claim's verdicts with its inclusion proof against a signed
// checkpoint, and that checkpoint, so a third party can check inclusion without another request. The checkpoint is
// the latest one cosigned by witnesses when it covers every leaf (a reader who pins witnesses can then check the
// bundle alone), else the latest.
import { toBase64 } from '../../attest/bytes.ts';
import type { AppContext } from '../context.ts';
import { inclusionProof, latestCheckpoint, latestCosignedCheckpoint } from './log-read.ts';

export type BundleLeaf = { index: number; leafHash: string; data: string };

/** `leaves` must have been read before this call: the checkpoint read here then covers every one of them. */
export async function bundleLogProofs(ctx: AppContext, leaves: readonly BundleLeaf[]) {
  // Without witnesses configured nothing gets cosigned: no query for it.
  const cosigned = ctx.config.witnesses.length ? await latestCosignedCheckpoint(ctx) : null;
  const covers = cosigned !== null && leaves.every((l) => l.index < cosigned.size);
  const checkpoint = covers ? cosigned : await latestCheckpoint(ctx);
  const withProofs = [];
  for (const l of leaves) {
    const proof = await inclusionProof(ctx, l.index, checkpoint.size);
    withProofs.push({ index: l.index, leafHash: l.leafHash, data: l.data, inclusionProof: proof.map(toBase64) });
  }
  return { checkpoint: checkpoint.note, treeSize: checkpoint.size, leaves: withProofs };
}
