// The claim bundle as a re-check reads it: parsed at the edge with zod, so the checks below see narrowed types and
// a malformed answer is one clear failure, not an exception deep inside a verifier.
import { z } from 'zod';

const iso = z.string().min(1).max(40);
const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

export const verdictEntrySchema = z.object({
  status: z.string().max(32),
  method: z.string().max(32).nullable(),
  reasonCode: z.string().max(200).nullable(),
  rule: z.string().max(4000),
  decidedAt: iso,
  logIndex: z.number().int().nonnegative().nullable(),
});
export type VerdictEntry = z.infer<typeof verdictEntrySchema>;

export const bundleSchema = z.object({
  claim: z.object({
    id: hex64,
    task: z.string().max(64),
    commit: z.string().max(64),
    parent: z.string().max(64).nullable(),
    beatsParent: z.boolean(),
    metric: z.object({ name: z.string().max(64), value: z.number() }),
    submitter: z.string().max(64),
    status: z.string().max(32),
    method: z.string().max(32).nullable(),
    // When the server received the claim: the evidence stored at that instant is what came with it.
    receivedAt: iso,
    history: z.array(verdictEntrySchema).max(1000),
  }),
  envelope: z.unknown(),
  /** The submitter's intake envelope (src/attest/intake.ts); null for a claim stored before intakes existed. */
  intake: z.unknown(),
  evidence: z
    .array(z.object({ kind: z.string().max(32), digest: z.string().max(64), body: z.unknown(), receivedAt: iso }))
    .max(64),
  task: z.object({
    id: z.string().max(64),
    metricName: z.string().max(64),
    direction: z.string().max(16),
    policy: z.unknown(),
    replay: z.unknown().optional(),
    /** The task pack (src/attest/task-pack.ts): attestations count only with its harness and data digests. */
    pack: z.unknown().optional(),
    evalSetCommitment: z.string().max(200).nullable().optional(),
    /** The log entry that registered the task (task-definition.ts); null before definitions were logged. */
    definitionLogIndex: z.number().int().nonnegative().nullable().optional(),
    circuits: z
      .array(z.object({ id: z.string().max(64), protocol: z.string().max(32), vkeySha256: z.string().max(64), vkey: z.string().max(1 << 20) }).passthrough())
      .max(64),
  }),
  verifierKeys: z
    .array(
      z
        .object({
          id: z.string(),
          name: z.string(),
          // Absent from servers older than operator ids: each key is then its own operator (defaultOperatorId).
          operator: z.string().optional(),
          publicKey: z.string(),
          tasks: z.array(z.string()),
          validFrom: iso,
          validUntil: iso.nullable(),
          revokedAt: iso.nullable(),
          revocationReason: z.string().nullable(),
          registeredAt: iso,
        })
        .passthrough(),
    )
    .max(10_000),
  /** For a beats-parent claim, the parent claim its runs were compared with (absent from older servers). */
  parent: z
    .object({
      id: hex64,
      envelope: z.unknown(),
      method: z.string().max(32).nullable(),
      evidence: z.array(z.object({ kind: z.string().max(32), digest: z.string().max(64), body: z.unknown(), receivedAt: iso })).max(64),
    })
    .nullable()
    .optional(),
  log: z.object({
    checkpoint: z.string().max(1 << 20),
    treeSize: z.number().int().nonnegative(),
    leaves: z
      .array(z.object({ index: z.number().int().nonnegative(), data: z.string().max(1 << 20), inclusionProof: z.array(z.string().max(64)).max(128) }))
      .max(1000),
  }),
});
export type ClaimBundle = z.infer<typeof bundleSchema>;
export type BundleVerifierKey = ClaimBundle['verifierKeys'][number];

export const leaderboardSchema = z.object({
  task: z.object({ id: z.string() }),
  entries: z.array(z.object({ claimId: hex64 })).max(100_000),
});

export const logEntriesSchema = z.object({
  size: z.number().int().nonnegative(),
  entries: z.array(z.object({ index: z.number().int().nonnegative(), claimId: z.string(), data: z.string() })).max(1000),
});

export const proofSchema = z.object({ proof: z.array(z.string().max(64)).max(128) });
export const logKeySchema = z.object({ origin: z.string().max(256), vkey: z.string().max(1024) });
