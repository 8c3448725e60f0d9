// Whether a leaf a bundle carries is in the signed tree: its base64 audit path decoded and checked against the
// checkpoint (RFC 9162 §2.1.3.2). One function for every leaf recheck relies on: verdicts, task definitions and
// circuit registrations.
import { fromBase64, utf8 } from '../attest/bytes.ts';
import { verifyLeafInCheckpoint, type Checkpoint } from '../log/index.ts';

/** Null when the leaf is included; otherwise why not, to follow the leaf's name in a check's detail. */
export function leafInclusionProblem(leaf: { index: number; data: string; inclusionProof: readonly string[] }, checkpoint: Checkpoint): string | null {
  let proof: Uint8Array[];
  try {
    proof = leaf.inclusionProof.map((p) => fromBase64(p, 'inclusion proof'));
  } catch {
    return 'malformed inclusion proof';
  }
  const included = verifyLeafInCheckpoint({ data: utf8(leaf.data), index: leaf.index, proof }, checkpoint);
  return included.ok ? null : `not in the signed tree of size ${checkpoint.size}: ${included.reason}`;
}
