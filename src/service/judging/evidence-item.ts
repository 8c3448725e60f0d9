// Evidence as a claim carries it: its shape by type, parsed at the edge, and the bounds checked before anything is
// stored (docs/threat-model.md, Denial of service). The judges of each type (judge-zk.ts, judge-evidence.ts) take
// the items and the signed claim being judged.
import { z } from 'zod';
import type { ClaimPayload } from '../../attest/claim.ts';
import { attestationEvidenceSchema } from '../../attest/attestation-evidence-schema.ts';
import { zkEvidenceSchema } from '../../zk/evidence-schema.ts';
import { ServiceError } from '../errors.ts';

export type EvidenceItem = { type: string } & Record<string, unknown>;
export type ClaimUnderJudgement = ClaimPayload & { claimId: string };

// Every item is stored as sent (verdicts name it by digest and a re-check fetches it), so every byte of it is a byte
// of the database. An honest zk item is about 1.3 KB per shard and an honest attestation about 2 KB.
export const MAX_EVIDENCE_ITEMS = 32;
/** 64 shards of a proof with a few dozen public signals each fit well below this. */
export const MAX_ZK_ITEM_BYTES = 256 * 1024;
/** A statement of MAX_STATEMENT_BYTES (16 KiB) in base64 with 16 signatures is under 27 KB. */
export const MAX_ATTESTATION_ITEM_BYTES = 32 * 1024;
/** All the items of one claim together: 20 claims at the limit hold 5 MiB, not 39 MB as before these bounds. */
export const MAX_EVIDENCE_BYTES = 256 * 1024;

const MAX_ITEM_BYTES: Record<string, number> = { zk: MAX_ZK_ITEM_BYTES, attestation: MAX_ATTESTATION_ITEM_BYTES };

/**
 * One evidence item by its type; an unknown type, an unknown field or a malformed proof is refused here, so that
 * junk is never stored beside a claim (a malformed zk item was a stored rejection before).
 */
export const evidenceItemSchema = z.discriminatedUnion('type', [zkEvidenceSchema, attestationEvidenceSchema]);

/**
 * Refuses evidence over its byte bounds (`evidence_too_large`, 413), item by item and in all, measured as the JSON
 * the database stores. Runs on items the schema has already shaped, so serialising them is bounded work.
 */
export function assertEvidenceWithinBounds(items: readonly EvidenceItem[]): void {
  let total = 0;
  items.forEach((item, i) => {
    const bytes = Buffer.byteLength(JSON.stringify(item));
    const max = MAX_ITEM_BYTES[item.type] ?? 0;
    if (bytes > max) throw new ServiceError('evidence_too_large', `evidence.${i}: ${bytes} bytes, over ${max} for ${item.type} evidence`);
    total += bytes;
  });
  if (total > MAX_EVIDENCE_BYTES) {
    throw new ServiceError('evidence_too_large', `evidence: ${total} bytes in all, over ${MAX_EVIDENCE_BYTES}`);
  }
}
