// Verifying verifiers' attestations for one claim and judging them against the task's policy. Pure: envelopes,
// receipt times, the trust registry, the policy and `now` in; a typed verdict out. The server and a third party's
// `recheck` run this same code.
import { createHash } from 'node:crypto';
import { EncodingError, fromHex, toHex } from './bytes.ts';
import type { ClaimPayload } from './claim.ts';
import { decodeDsse, dsseEnvelopeSchema, preAuthEncoding, verifyDsseSignature, type DecodedEnvelope } from './dsse.ts';
import { allowedShortfall, describeTolerance, shortfall, type TaskPolicy } from './policy.ts';
import { isRevokedAt, judgeKeyUse, type KeyDenial, type KeyUse, type VerifierKey } from './registry.ts';
import { IN_TOTO_PAYLOAD_TYPE, MAX_STATEMENT_BYTES, parseReplayStatement, type ReplayStatement, type Run } from './statement.ts';
import { mean, tTestOneSided } from './stats.ts';
import type { EnvironmentPins } from './task-pack.ts';
import { firstIssue } from './validation.ts';

/** The closed set of reasons an attestation, or one signature on it, does not count. */
export const ATTESTATION_REJECTIONS = [
  'bad_envelope',
  'wrong_payload_type',
  'unknown_key',
  'bad_signature',
  'key_revoked',
  'key_expired',
  'key_not_yet_valid',
  'key_not_trusted_for_task',
  'bad_statement',
  'wrong_predicate_type',
  'subject_commit_mismatch',
  'task_mismatch',
  'claim_mismatch',
  'metric_mismatch',
  'runs_mismatch',
  'environment_mismatch',
  'duplicate_signature',
  'duplicate_verifier',
  'duplicate_attestation',
  'duplicate_operator',
  'self_attestation',
] as const;
export type AttestationRejection = (typeof ATTESTATION_REJECTIONS)[number];

/** A verifier's clock may run a little ahead of the server's; a statement finished later than this is not believed. */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

/**
 * Ed25519 mode for attestation signatures, pinned here (STYLE.md §5). Strict RFC 8032 rejects non-canonical
 * encodings and S >= L, so a signature cannot be re-encoded into a second valid one; quorum counting is by verifier
 * public key regardless, so a malleated copy would still count once.
 */
const ATTESTATION_ED25519_MODE = 'strict' as const;

export type AttestationContext = {
  claim: ClaimPayload;
  claimId: string;
  registry: readonly VerifierKey[];
  /** When the service received this envelope (its own clock). */
  receivedAt: Date;
  now: Date;
};

export type SignatureRejection = { signature: number; reason: AttestationRejection; message: string };
export type AcceptedSignature = { signature: number; keyId: string; operator: string; publicKey: string; sig: string };

export type AttestationCheck =
  | {
      ok: true;
      /** Registry ids of the keys whose signatures count, one per distinct public key. */
      verifierKeyIds: string[];
      accepted: AcceptedSignature[];
      rejectedSignatures: SignatureRejection[];
      statement: ReplayStatement;
      /** SHA-256 of PAE(payloadType, payload): the identity of the signed attestation. */
      attestationId: string;
    }
  | { ok: false; reason: AttestationRejection; message: string; rejectedSignatures: SignatureRejection[] };

/**
 * Verifies one attestation envelope for one claim, in an order that keeps parsing of unauthenticated bytes to a
 * minimum (DSSE protocol.md "To verify"): shape, payload type, signatures against the registry, then the statement,
 * its binding to the claim, and finally whether each signing key counts at the attestation's time.
 */
export function verifyAttestation(untrusted: unknown, ctx: AttestationContext): AttestationCheck {
  const shape = dsseEnvelopeSchema.safeParse(untrusted);
  if (!shape.success) return reject('bad_envelope', firstIssue(shape.error, 'envelope'));
  // Domain separation (DSSE): a claim or any other document signed by a verifier key is not an attestation.
  if (shape.data.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    return reject('wrong_payload_type', `payloadType must be ${IN_TOTO_PAYLOAD_TYPE}`);
  }
  let decoded: DecodedEnvelope;
  try {
    decoded = decodeDsse(shape.data);
  } catch (e) {
    if (e instanceof EncodingError) return reject('bad_envelope', e.message);
    throw e;
  }
  // Bounds the work a hostile envelope can cause before any signature is known to be good.
  if (decoded.payload.length > MAX_STATEMENT_BYTES) return reject('bad_statement', `statement over ${MAX_STATEMENT_BYTES} bytes`);

  const verified = verifySignatures(decoded, ctx);
  const rejectedSignatures = verified.rejected;
  if (verified.accepted.length === 0) return rejectFirst(rejectedSignatures, 'no signature verifies');

  const parsed = parseReplayStatement(decoded.payload);
  if (!parsed.ok) return reject(parsed.reason, parsed.message, rejectedSignatures);
  const statement = parsed.statement;
  const binding = checkBinding(statement, ctx);
  if (binding) return reject(binding.reason, binding.message, rejectedSignatures);

  const signedAt = new Date(statement.predicate.finishedAt);
  const accepted: AcceptedSignature[] = [];
  for (const candidate of verified.accepted) {
    const judged = judgeRecords(candidate.records, { task: ctx.claim.task, signedAt, receivedAt: ctx.receivedAt, now: ctx.now });
    if (judged.ok) {
      accepted.push({ signature: candidate.signature, keyId: judged.key.id, operator: judged.key.operator, publicKey: candidate.publicKey, sig: candidate.sig });
    } else rejectedSignatures.push({ signature: candidate.signature, reason: judged.reason, message: judged.message });
  }
  if (accepted.length === 0) return rejectFirst(rejectedSignatures, 'no signing key counts');
  rejectedSignatures.sort((a, b) => a.signature - b.signature);
  return {
    ok: true,
    verifierKeyIds: accepted.map((a) => a.keyId),
    accepted,
    rejectedSignatures,
    statement,
    attestationId: createHash('sha256').update(preAuthEncoding(decoded.payloadType, decoded.payload)).digest('hex'),
  };
}

type VerifiedSignature = { signature: number; publicKey: string; sig: string; records: VerifierKey[] };

/**
 * Finds, for each signature, the registry key that made it. The keyid is an unauthenticated hint (DSSE protocol.md:
 * it "MUST NOT be used for security decisions"): it only orders the keys tried and picks the error message. Keys
 * tried: every key trusted for the claim's task, plus the records the keyid names, so that a known key used outside
 * its task gets its own reason. Bounded by MAX_DSSE_SIGNATURES × (task keys + 1) verifications.
 */
function verifySignatures(decoded: DecodedEnvelope, ctx: AttestationContext): { accepted: VerifiedSignature[]; rejected: SignatureRejection[] } {
  const byPublicKey = groupByPublicKey(ctx.registry);
  const taskKeys = [...byPublicKey.keys()].filter((pk) => byPublicKey.get(pk)!.some((k) => k.tasks.includes(ctx.claim.task)));
  const accepted: VerifiedSignature[] = [];
  const rejected: SignatureRejection[] = [];
  const seenSigs = new Set<string>();
  const seenKeys = new Set<string>();
  decoded.signatures.forEach(({ keyid, sig }, signature) => {
    const hinted = keyid === undefined ? [] : [...byPublicKey.keys()].filter((pk) => pk === keyid || byPublicKey.get(pk)!.some((k) => k.id === keyid));
    const candidates = [...new Set([...hinted, ...taskKeys])];
    const publicKey = candidates.find((pk) => verifyDsseSignature(decoded, sig, fromHex(pk, 'registry.publicKey', 32), ATTESTATION_ED25519_MODE));
    if (publicKey === undefined) {
      rejected.push(
        hinted.length > 0
          ? { signature, reason: 'bad_signature', message: `signature does not verify for key ${keyid}` }
          : { signature, reason: 'unknown_key', message: `no registry key trusted for task ${ctx.claim.task} made this signature` },
      );
      return;
    }
    const sigHex = toHex(sig);
    // The same signature bytes twice, or one key signing twice (under two keyids, or a re-signed copy): one verifier.
    if (seenSigs.has(sigHex)) {
      rejected.push({ signature, reason: 'duplicate_signature', message: 'the same signature appears twice' });
      return;
    }
    if (seenKeys.has(publicKey)) {
      rejected.push({ signature, reason: 'duplicate_verifier', message: 'this key has already signed this envelope' });
      return;
    }
    seenSigs.add(sigHex);
    seenKeys.add(publicKey);
    accepted.push({ signature, publicKey, sig: sigHex, records: byPublicKey.get(publicKey)! });
  });
  return { accepted, rejected };
}

/**
 * A public key may sit in the registry under several records (an operator mistake, or one key registered twice to
 * be counted twice). The verifier is the public key: it counts at most once, and if any of its records is revoked as
 * compromised it counts for nothing.
 */
function judgeRecords(records: VerifierKey[], use: KeyUse): { ok: true; key: VerifierKey } | KeyDenial {
  const compromised = records.find((k) => k.revocationReason === 'compromised' && isRevokedAt(k, use.now));
  const ordered = compromised ? [compromised] : records;
  let first: KeyDenial | undefined;
  for (const key of ordered) {
    const judged = judgeKeyUse(key, use);
    if (judged.ok) return { ok: true, key };
    first ??= judged;
  }
  return first!;
}

function groupByPublicKey(registry: readonly VerifierKey[]): Map<string, VerifierKey[]> {
  const map = new Map<string, VerifierKey[]>();
  for (const key of registry) map.set(key.publicKey, [...(map.get(key.publicKey) ?? []), key]);
  return map;
}

/** The statement must be about this claim: its commit, its task, its id and its metric. */
function checkBinding(statement: ReplayStatement, ctx: AttestationContext): { reason: AttestationRejection; message: string } | null {
  const p = statement.predicate;
  // Replaying an attestation for commit A against a claim about commit B.
  if (statement.subject[0].digest.gitCommit !== ctx.claim.commit) {
    return { reason: 'subject_commit_mismatch', message: `subject gitCommit ${statement.subject[0].digest.gitCommit} is not the claim's commit` };
  }
  // A result measured on another task's harness and data says nothing about this task.
  if (p.task !== ctx.claim.task) return { reason: 'task_mismatch', message: `statement is about task ${p.task}` };
  // Binding to the claim id stops one run being reused for a second claim (e.g. another submitter's) on the same commit.
  if (p.claimId !== ctx.claimId) return { reason: 'claim_mismatch', message: 'statement answers another claim' };
  if (p.metric !== ctx.claim.metric.name) return { reason: 'metric_mismatch', message: `statement measures ${p.metric}, claim is about ${ctx.claim.metric.name}` };
  // A finish time ahead of receipt would push the effective time forward; beyond clock skew it is simply false.
  if (Date.parse(p.finishedAt) > ctx.receivedAt.getTime() + MAX_CLOCK_SKEW_MS) {
    return { reason: 'bad_statement', message: 'finishedAt is after the time the service received the attestation' };
  }
  return null;
}

function reject(reason: AttestationRejection, message: string, rejectedSignatures: SignatureRejection[] = []): AttestationCheck {
  return { ok: false, reason, message, rejectedSignatures };
}

function rejectFirst(rejected: SignatureRejection[], fallback: string): AttestationCheck {
  const first = [...rejected].sort((a, b) => a.signature - b.signature)[0];
  return reject(first?.reason ?? 'bad_signature', first?.message ?? fallback, rejected);
}

// ---- judging a set of attestations against a policy ----

export type Outcome = 'verified' | 'contradicted' | 'insufficient';

export type CountedAttestation = {
  /** Position of the envelope in the input. */
  index: number;
  keyId: string;
  /** The operator of the key: what a quorum counts. */
  operator: string;
  publicKey: string;
  attestationId: string;
  runs: Run[];
  mean: number;
  /** How much worse than the claim the mean is (negative: better); see policy.ts `shortfall`. */
  shortfall: number;
};

export type RejectedAttestation = { index: number; signature?: number; reason: AttestationRejection; message: string };

export type Judgement = {
  outcome: Outcome;
  /** The rule that decided, e.g. `quorum 2/2 within abs 0.01`. */
  rule: string;
  counted: CountedAttestation[];
  rejected: RejectedAttestation[];
};

export type JudgeInput = {
  claim: ClaimPayload;
  claimId: string;
  envelopes: readonly { envelope: unknown; receivedAt: Date }[];
  registry: readonly VerifierKey[];
  policy: TaskPolicy;
  /** The parent commit's runs under this task's policy, for a claim that says it beats its parent. */
  parentRuns?: readonly number[] | null;
  /** The task pack's digests (task-pack.ts environmentPinsOf); null or absent for a task without a pack. */
  pins?: EnvironmentPins | null;
  now: Date;
};

/**
 * Judges all attestations for a claim.
 *
 * - Each envelope is verified on its own (verifyAttestation), then its runs are checked against the policy.
 * - Duplicates are removed before counting (STYLE.md §6): the same signature bytes anywhere, the same verifier key in
 *   two envelopes or under two key ids, the same attestation twice, and a second key of an operator already counted
 *   (in its own envelope or co-signing one envelope). A quorum counts operators, not keys: one lab registering a
 *   second key would otherwise be two votes. Envelopes are taken in input order; the first occurrence counts.
 * - Unless the policy allows it, an operator's attestation does not count for a claim signed by one of that
 *   operator's own keys (self_attestation): an operator cannot verify its own claims.
 * - One trusted attestation whose mean falls short of the claim beyond tolerance contradicts the claim. This includes
 *   a verifier's second, different attestation: a duplicate never adds to a quorum, but a trusted contradiction is
 *   never ignored.
 * - Otherwise `quorum` distinct agreeing operators verify the claim; for a claim that beats its parent, the pooled
 *   counted runs must also beat the parent's runs in a one-sided t-test with p < alpha. Anything short of that is
 *   `insufficient` (more attestations, or a replay, can still settle it).
 */
export function judgeAttestations(input: JudgeInput): Judgement {
  const { claim, policy } = input;
  const counted: CountedAttestation[] = [];
  const rejected: RejectedAttestation[] = [];
  const contradictions: CountedAttestation[] = [];
  const seenSigs = new Set<string>();
  const seenVerifiers = new Set<string>();
  const seenOperators = new Set<string>();
  const seenAttestations = new Set<string>();
  const ownsSubmitter = operatorsOwning(input.registry, claim.submitter);

  input.envelopes.forEach(({ envelope, receivedAt }, index) => {
    const check = verifyAttestation(envelope, { claim, claimId: input.claimId, registry: input.registry, receivedAt, now: input.now });
    if (!check.ok) {
      rejected.push({ index, reason: check.reason, message: check.message });
      return;
    }
    for (const r of check.rejectedSignatures) rejected.push({ index, ...r });
    const runsProblem = checkRuns(check.statement.predicate.runs, policy);
    if (runsProblem) {
      rejected.push({ index, reason: 'runs_mismatch', message: runsProblem });
      return;
    }
    // A run scored by another harness or on other evaluation data measured something else: it neither verifies nor
    // contradicts the claim. Without this, a verifier could score on a leaked or easier set and still count.
    const pinsProblem = checkPins(check.statement.predicate.environment, input.pins ?? null);
    if (pinsProblem) {
      rejected.push({ index, reason: 'environment_mismatch', message: pinsProblem });
      return;
    }
    if (seenAttestations.has(check.attestationId) && check.accepted.every((a) => seenSigs.has(a.sig))) {
      rejected.push({ index, reason: 'duplicate_attestation', message: 'this attestation was already judged' });
      return;
    }
    seenAttestations.add(check.attestationId);
    const runs = check.statement.predicate.runs;
    const m = mean(runs.map((r) => r.value));
    for (const a of check.accepted) {
      const entry: CountedAttestation = {
        index,
        keyId: a.keyId,
        operator: a.operator,
        publicKey: a.publicKey,
        attestationId: check.attestationId,
        runs,
        mean: m,
        shortfall: shortfall(policy.direction, claim.metric.value, m),
      };
      if (seenSigs.has(a.sig)) {
        rejected.push({ index, signature: a.signature, reason: 'duplicate_signature', message: 'this signature was already counted' });
        continue;
      }
      seenSigs.add(a.sig);
      // An operator vouching for its own claim is the submitter grading itself: its word, agreeing or not, is not
      // independent evidence about the claim.
      if (policy.selfAttestation === 'refuse' && ownsSubmitter.has(a.operator)) {
        rejected.push({
          index,
          signature: a.signature,
          reason: 'self_attestation',
          message: `operator ${a.operator} (key ${a.keyId}) also holds the claim's submitter key; task policy refuses self-attestation`,
        });
        continue;
      }
      if (entry.shortfall > allowedShortfall(policy.tolerance, claim.metric.value)) contradictions.push(entry);
      if (seenVerifiers.has(a.publicKey)) {
        rejected.push({ index, signature: a.signature, reason: 'duplicate_verifier', message: `verifier ${a.keyId} was already counted` });
        continue;
      }
      seenVerifiers.add(a.publicKey);
      // One operator, one vote, however many keys it registered; its contradictions were still taken above.
      if (seenOperators.has(a.operator)) {
        rejected.push({ index, signature: a.signature, reason: 'duplicate_operator', message: `operator ${a.operator} was already counted (key ${a.keyId})` });
        continue;
      }
      seenOperators.add(a.operator);
      counted.push(entry);
    }
  });

  const tol = describeTolerance(policy.tolerance);
  const contradiction = contradictions[0];
  if (contradiction) {
    return {
      outcome: 'contradicted',
      rule: `contradicted by ${contradiction.keyId}: mean ${brief(contradiction.mean)} is worse than claimed ${claim.metric.value} beyond ${tol} (${policy.direction} is better)`,
      counted,
      rejected,
    };
  }
  const quorumRule = `quorum ${counted.length}/${policy.quorum} within ${tol}`;
  if (counted.length < policy.quorum) return { outcome: 'insufficient', rule: quorumRule, counted, rejected };
  if (!claim.beatsParent) return { outcome: 'verified', rule: quorumRule, counted, rejected };

  const test = policy.beatsParent;
  const childRuns = perSeedMeans(counted);
  const parentRuns = input.parentRuns ?? [];
  if (claim.parent === null || parentRuns.length < 2 || childRuns.length < 2) {
    return {
      outcome: 'insufficient',
      rule: `${quorumRule}; beats-parent ${test.test} needs at least 2 runs of the claim and of its parent (have ${childRuns.length} and ${parentRuns.length})`,
      counted,
      rejected,
    };
  }
  const result = tTestOneSided(childRuns, parentRuns, policy.direction === 'lower' ? 'less' : 'greater', test.test);
  const significant = result.p < test.alpha;
  // The statistic and the p-value in full (shortest round-trip decimal), so that anyone can compare them with scipy's.
  const stated = `one-sided ${test.test} t=${result.t} df=${result.df} p=${result.p} ${significant ? '<' : '>='} alpha ${test.alpha} (n=${childRuns.length} vs ${parentRuns.length})`;
  // The runs were measured and the test computed: a claim that does not beat its parent at the task's alpha is
  // contradicted by its own measurements, not merely unsettled.
  return significant
    ? { outcome: 'verified', rule: `${quorumRule}; beats parent by ${stated}`, counted, rejected }
    : { outcome: 'contradicted', rule: `${quorumRule}; does not beat its parent: ${stated}`, counted, rejected };
}

/**
 * The operators that hold `publicKey` as one of their verifier keys, whatever the state of that key: a revoked or
 * expired key still says who the submitter is.
 */
function operatorsOwning(registry: readonly VerifierKey[], publicKey: string): Set<string> {
  return new Set(registry.filter((k) => k.publicKey === publicKey).map((k) => k.operator));
}

/**
 * One value per seed: the mean of what the counted verifiers measured for it. Two verifiers re-running the same seed
 * measure one sample twice, not two samples; counting both would make any difference look significant.
 */
function checkPins(env: { harnessSha256: string; datasetSha256: string }, pins: EnvironmentPins | null): string | null {
  if (!pins) return null;
  if (env.harnessSha256 !== pins.harnessSha256) return `harnessSha256 ${env.harnessSha256} is not the task's pin ${pins.harnessSha256}`;
  if (env.datasetSha256 !== pins.datasetSha256) return `datasetSha256 ${env.datasetSha256} is not the task's pin ${pins.datasetSha256}`;
  return null;
}

export function perSeedMeans(counted: readonly { runs: readonly Run[] }[]): number[] {
  const bySeed = new Map<number, number[]>();
  for (const c of counted) for (const r of c.runs) bySeed.set(r.seed, [...(bySeed.get(r.seed) ?? []), r.value]);
  return [...bySeed.keys()].sort((x, y) => x - y).map((seed) => mean(bySeed.get(seed)!));
}

/** Runs must match the policy: the required count, and the required seeds when the policy fixes them. */
function checkRuns(runs: readonly Run[], policy: TaskPolicy): string | null {
  if (runs.length !== policy.runs) return `policy requires ${policy.runs} runs, statement has ${runs.length}`;
  if (policy.seeds) {
    const want = new Set(policy.seeds);
    if (!runs.every((r) => want.has(r.seed))) return `policy requires seeds ${policy.seeds.join(',')}`;
  }
  return null;
}

/** A number for a human-readable rule; the exact values are in `counted`. */
function brief(x: number): string {
  return String(Number(x.toPrecision(8)));
}
