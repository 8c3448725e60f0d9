// Re-checks one claim bundle with the pure libraries only: the signature, the fields the server shows against the
// signed ones, evidence digests, pinned circuits, every proof, every attestation, the verdict's rule, the log leaves
// recomputed from the bundle and their inclusion in a signed checkpoint. Each check names what it found wrong.
import { createHash } from 'node:crypto';
import { verifyClaimEnvelope, type ClaimPayload } from '../attest/claim.ts';
import { verifyIntakeEnvelope } from '../attest/intake.ts';
import { taskPolicySchema, type TaskPolicy } from '../attest/policy.ts';
import { toEffectiveVerifierKey, type VerifierKey } from '../attest/registry.ts';
import { judgeAttestations, perSeedMeans, type Judgement } from '../attest/verify-attestations.ts';
import { environmentPinsOf, isPackReplaySpec, type EnvironmentPins } from '../attest/task-pack.ts';
import type { Checkpoint } from '../log/index.ts';
import type { Groth16Checker } from '../zk/groth16-batch.ts';
import { verifyZkEvidence, type ZkCheck } from '../zk/verify.ts';
import { toZkContext } from '../zk/zk-context.ts';
import type { BundleVerifierKey, ClaimBundle, VerdictEntry } from './bundle.ts';
import { evidenceDigest } from '../verdict/evidence-digest.ts';
import { verdictRecordText } from '../verdict/record.ts';
import { AUDIT_AGREED, NEW_CLAIM, nextVerdict, replayPolicy, type AttestationsOutcome, type ClaimState, type VerdictEvent, type ZkOutcome } from '../verdict/rules.ts';
import type { ClaimStatus, VerificationMethod } from '../verdict/verdict.ts';
import type { PinnedCircuit } from './pins.ts';
import { fail, pass, skip, warn, type Check } from './report.ts';
import { checkTaskDefinition } from './task-definition.ts';
import { leafInclusionProblem } from './leaf-inclusion.ts';
import { withLoggedCircuits, type CircuitPins } from './logged-circuits.ts';

export type ClaimCheckInput = {
  claimId: string;
  bundle: ClaimBundle;
  /** The bundle's checkpoint, already verified with the log key and found consistent with the latest one. */
  checkpoint: Checkpoint;
  pins: ReadonlyMap<string, PinnedCircuit>;
  /** The pairing check of the proofs: pooled with other claims' when given (src/zk/batch-verifier.ts). */
  checkProofs?: Groth16Checker | undefined;
  /** Accept a task without a logged definition with a warning (task-definition.ts). */
  allowUnloggedTasks?: boolean | undefined;
};

type Evidence = ClaimBundle['evidence'][number];

export async function checkClaimBundle(input: ClaimCheckInput): Promise<Check[]> {
  const { bundle, claimId } = input;
  const checks: Check[] = [];

  // 1. The submitter's signature over the exact payload bytes, and the claim id derived from them.
  const signed = verifyClaimEnvelope(bundle.envelope);
  if (!signed.ok) return [fail('claim.signature', `${signed.reason}: ${signed.message}`)];
  if (signed.claimId !== claimId) {
    return [fail('claim.signature', `the envelope signs claim ${signed.claimId}, not ${claimId}`)];
  }
  checks.push(pass('claim.signature', `signed by submitter ${signed.claim.submitter.slice(0, 16)}…`));
  const claim = signed.claim;

  // 2. What the server shows (and ranks the leaderboard by) must be what was signed: a metric edited in the
  //    database would otherwise move an entry up the board.
  checks.push(checkClaimFields(bundle, claim, claimId));

  // 2b. The evidence that came with the claim is what its submitter signed, for this log: neither the server nor
  //     whoever posted the claim first added, dropped or swapped an item in the submitter's name.
  checks.push(checkIntake(bundle, claimId, claim.submitter, input.checkpoint.origin));

  // 3. Evidence bodies hash to the digests the verdicts name.
  const badDigests = bundle.evidence.filter((e) => evidenceDigest(e.body) !== e.digest);
  checks.push(
    badDigests.length
      ? fail('evidence.digests', `evidence changed after it was received: ${badDigests.map((e) => e.digest.slice(0, 12)).join(', ')}`)
      : pass('evidence.digests', `${bundle.evidence.length} evidence item(s) hash to their digests`),
  );

  // 4. Every circuit of the task against the hash committed in this repository.
  const zkItems = bundle.evidence.filter((e) => e.kind === 'zk');
  //    Circuits an operator registered through the API are pinned by their registration leaf in the log instead.
  const usedCircuits = new Set(zkItems.map((e) => circuitOf(e.body)));
  const circuitPins = withLoggedCircuits(input.pins, bundle, input.checkpoint, usedCircuits);
  checks.push(checkCircuitPins(bundle, circuitPins, usedCircuits));

  // 5. Every proof, with the repository's key and eval layout.
  const zkResults = new Map<string, ZkCheck>();
  for (const item of zkItems) zkResults.set(item.digest, await checkZkItem(item, claim, bundle, circuitPins.pins, input.checkProofs));
  checks.push(summariseZk(zkResults));

  // 6. Every attestation against the registry as it stood (trust granted later does not reach back) and the policy.
  const policy = taskPolicySchema.safeParse(bundle.task.policy);
  const registry = registryAsRegistered(bundle.verifierKeys);
  if (!policy.success) checks.push(fail('attestations', 'the task policy is malformed'));
  // A pack-form task's attestations count only with its pins: a pack that does not parse must not drop the comparison.
  if (isPackReplaySpec(bundle.task.replay) && environmentPinsOf(bundle.task.pack) === null) {
    checks.push(fail('attestations', "the task replays as a pack, but the bundle's pack does not parse: no attestation can be held to its pins"));
  }
  if (!registry.ok) checks.push(fail('attestations', registry.detail));

  // 7. The log: every verdict has a leaf whose bytes are the record recomputed from the signed claim.
  const leafChecks = checkLeaves(bundle, claim, claimId, input.checkpoint);
  checks.push(...leafChecks.checks);

  // 7b. The task judged with (policy, pack pins) is the one its logged definition registered, and the one each
  //     verdict names.
  checks.push(checkTaskDefinition(bundle, input.checkpoint, leafChecks.definitionEntries, input.allowUnloggedTasks));

  // 8. The latest verdict's rule against the evidence it names.
  const latest = bundle.claim.history.at(-1);
  if (policy.success && registry.ok) {
    const all = bundle.evidence.filter((e) => e.kind === 'attestation');
    const at = latest ? new Date(latest.decidedAt) : new Date();
    const parentRuns = parentRunsFrom(bundle, claim, registry.keys, policy.data, at);
    const judged = judge(claim, claimId, all, registry.keys, policy.data, at, parentRuns, environmentPinsOf(bundle.task.pack));
    checks.push(describeAttestations(judged, all.length));
    if (latest) {
      const named = leafChecks.evidenceByIndex.get(latest.logIndex ?? -1);
      const before = bundle.claim.history.at(-2);
      const previous: ClaimState = before
        ? { status: before.status as ClaimStatus, method: before.method as VerificationMethod | null, reasonCode: before.reasonCode, audited: before.rule.startsWith(AUDIT_AGREED) }
        : NEW_CLAIM;
      checks.push(checkVerdictRule(latest, previous, named, bundle, claim, claimId, zkResults, registry.keys, policy.data, parentRuns));
    }
  }
  if (!latest) {
    // A claim is recorded pending without a verdict when its evidence settles nothing (it waits for replay); any other
    // status needs the logged verdict that set it. Without one, the status (and a place on the leaderboard) rests on
    // nothing but the database: verdict rows deleted, or the status written behind the service.
    if (bundle.claim.status === 'pending' && bundle.claim.method === null) checks.push(pass('verdict.rule', 'no verdict yet: the claim asserts nothing'));
    else checks.push(fail('verdict.status', `the claim shows ${bundle.claim.status}/${bundle.claim.method} but has no verdict: its history is missing`));
  } else if (bundle.claim.status !== latest.status || bundle.claim.method !== latest.method) {
    checks.push(fail('verdict.status', `the claim shows ${bundle.claim.status}/${bundle.claim.method} but its latest logged verdict is ${latest.status}/${latest.method}`));
  }
  return checks;
}

/**
 * The submitter's intake envelope against the evidence stored with the claim and the log's origin. Evidence is listed
 * in the order it was stored, and what came with the claim was stored first, in one transaction; attestations and
 * replays that came later follow it. So the first items must be exactly the ones the submitter signed, in order.
 */
function checkIntake(bundle: ClaimBundle, claimId: string, submitter: string, origin: string): Check {
  if (bundle.intake === null || bundle.intake === undefined) {
    return fail('claim.intake', 'no intake signature: nothing shows the submitter sent the evidence this claim was judged on');
  }
  // The count only picks which items to compare: the signature check below covers the exact list.
  const sent = bundle.evidence.slice(0, signedEvidenceCount(bundle.intake)).map((e) => e.digest);
  const checked = verifyIntakeEnvelope(bundle.intake, { claimId, submitter, audience: origin, evidenceDigests: sent });
  if (!checked.ok) return fail('claim.intake', `${checked.reason}: ${checked.message}`);
  return pass('claim.intake', `the submitter signed this claim's ${sent.length} evidence item(s) for ${origin}`);
}

function signedEvidenceCount(intake: unknown): number {
  try {
    const payload = JSON.parse(Buffer.from((intake as { payload: string }).payload, 'base64').toString('utf8')) as { evidence?: unknown };
    return Array.isArray(payload.evidence) ? payload.evidence.length : 0;
  } catch {
    return 0;
  }
}

function checkClaimFields(bundle: ClaimBundle, claim: ClaimPayload, claimId: string): Check {
  const shown = bundle.claim;
  const diffs: string[] = [];
  const cmp = (name: string, a: unknown, b: unknown) => {
    if (a !== b) diffs.push(`${name}: server shows ${JSON.stringify(a)}, submitter signed ${JSON.stringify(b)}`);
  };
  cmp('id', shown.id, claimId);
  cmp('task', shown.task, claim.task);
  cmp('commit', shown.commit, claim.commit);
  cmp('parent', shown.parent, claim.parent);
  cmp('beatsParent', shown.beatsParent, claim.beatsParent);
  cmp('metric.name', shown.metric.name, claim.metric.name);
  cmp('metric.value', shown.metric.value, claim.metric.value);
  cmp('submitter', shown.submitter, claim.submitter);
  cmp('task id of the bundle', bundle.task.id, claim.task);
  return diffs.length
    ? fail('claim.fields', `claim changed after signing (${diffs.join('; ')})`)
    : pass('claim.fields', `task ${claim.task}, commit ${claim.commit.slice(0, 12)}, ${claim.metric.name} = ${claim.metric.value} as signed`);
}

function checkCircuitPins(bundle: ClaimBundle, circuitPins: CircuitPins, used: ReadonlySet<string>): Check {
  const { pins } = circuitPins;
  const problems: string[] = [...circuitPins.problems];
  const unpinned: string[] = [];
  for (const c of bundle.task.circuits) {
    const pin = pins.get(c.id);
    const actual = createHash('sha256').update(c.vkey).digest('hex');
    if (actual !== c.vkeySha256) problems.push(`circuit ${c.id}: the server's verification key does not hash to its own pin`);
    if (!pin) unpinned.push(c.id);
    else if (actual !== pin.vkeySha256 || c.vkeySha256 !== pin.vkeySha256) {
      problems.push(`circuit ${c.id}: verification key swapped (server sha256:${actual.slice(0, 16)}…, pinned sha256:${pin.vkeySha256.slice(0, 16)}…)`);
    }
  }
  for (const id of used) if (!pins.has(id)) problems.push(`circuit ${id} used by a proof has no pin in this repository or the log`);
  if (problems.length) return fail('circuits.pinned', problems.join('; '));
  if (unpinned.length) return warn('circuits.pinned', `circuit(s) ${unpinned.join(', ')} not pinned here and not used by this claim`);
  const logged = circuitPins.logged.length ? `; pinned by their registration in the log: ${circuitPins.logged.join(', ')}` : '';
  return pass('circuits.pinned', `${bundle.task.circuits.length} circuit key(s) match their pins (the hashes committed in this repository${logged})`);
}

function circuitOf(body: unknown): string {
  const c = (body as { circuit?: unknown } | null)?.circuit;
  return typeof c === 'string' ? c : '';
}

async function checkZkItem(
  item: Evidence,
  claim: ClaimPayload,
  bundle: ClaimBundle,
  pins: ReadonlyMap<string, PinnedCircuit>,
  checkProofs?: Groth16Checker,
): Promise<ZkCheck> {
  const pin = pins.get(circuitOf(item.body));
  if (!pin) return { ok: false, reason: 'zk_circuit_mismatch', message: `circuit ${circuitOf(item.body)} is not pinned in this repository` };
  const pinned = await pin.load();
  return verifyZkEvidence(item.body, claim, toZkContext(pinned.circuit, bundle.task.metricName, pinned), checkProofs);
}

function summariseZk(results: Map<string, ZkCheck>): Check {
  if (results.size === 0) return skip('zk.proofs', 'no zero-knowledge evidence');
  const lines = [...results].map(([digest, r]) => (r.ok ? `${digest.slice(0, 12)} verifies` : `${digest.slice(0, 12)} ${r.reason}: ${r.message}`));
  // A false proof is reported here but judged in verdict.rule: a rejected claim is *expected* to carry one.
  return pass('zk.proofs', `${results.size} proof set(s) checked with the repository's keys: ${lines.join('; ')}`);
}

/**
 * The registry as a third party accepts it: a key counts only from when it was registered, whatever validFrom the
 * server shows. Stops trust granted after the fact (a key added later with a back-dated validFrom) from verifying
 * attestations received before the key was trusted. The same function builds the service's registry.
 */
function registryAsRegistered(keys: readonly BundleVerifierKey[]): { ok: true; keys: VerifierKey[] } | { ok: false; detail: string } {
  const out: VerifierKey[] = [];
  for (const k of keys) {
    try {
      out.push(toEffectiveVerifierKey(k));
    } catch {
      return { ok: false, detail: `verifier key ${k.id} in the registry is malformed` };
    }
  }
  return { ok: true, keys: out };
}

function judge(
  claim: ClaimPayload,
  claimId: string,
  items: readonly Evidence[],
  registry: VerifierKey[],
  policy: TaskPolicy,
  now: Date,
  parentRuns: readonly number[] | null = null,
  /** The task pack's digests, as the service judges them (task-pack.ts environmentPinsOf). */
  pins: EnvironmentPins | null = null,
): Judgement {
  return judgeAttestations({
    claim,
    claimId,
    envelopes: items.map((e) => ({ envelope: (e.body as { envelope?: unknown } | null)?.envelope, receivedAt: new Date(e.receivedAt) })),
    registry,
    policy,
    now,
    parentRuns,
    pins,
  });
}

/**
 * A beats-parent claim's other sample, computed here from the parent's own signed claim and signed attestations, as
 * the service computes it (src/service/judging/parent-runs.ts): one value per seed of its counted attestations. Null when
 * the bundle names no parent, or one that is not a signed claim of the same task for the commit the child names.
 */
function parentRunsFrom(bundle: ClaimBundle, claim: ClaimPayload, registry: VerifierKey[], policy: TaskPolicy, now: Date): number[] | null {
  const parent = bundle.parent;
  if (!claim.beatsParent || claim.parent === null || !parent) return null;
  const signed = verifyClaimEnvelope(parent.envelope);
  if (!signed.ok || signed.claimId !== parent.id || signed.claim.task !== claim.task || signed.claim.commit !== claim.parent) return null;
  // What the parent had when the child's verdict was decided: an attestation it received later played no part.
  const held = parent.evidence.filter((e) => e.kind === 'attestation' && Date.parse(e.receivedAt) <= now.getTime());
  const pins = environmentPinsOf(bundle.task.pack);
  const counted = judge(signed.claim, parent.id, held, registry, parent.method === 'replayed' ? replayPolicy(policy) : policy, now, null, pins).counted;
  return perSeedMeans(counted);
}

function describeAttestations(j: Judgement, n: number): Check {
  if (n === 0) return skip('attestations', 'no attestations');
  const rejected = j.rejected.map((r) => `#${r.index} ${r.reason}`).join(', ');
  return pass('attestations', `${n} attestation(s): ${j.outcome} (${j.rule}); counted ${j.counted.length}${rejected ? `; not counted: ${rejected}` : ''}`);
}

type LeafResult = { checks: Check[]; evidenceByIndex: Map<number, string[]>; definitionEntries: Set<number> };

function checkLeaves(bundle: ClaimBundle, claim: ClaimPayload, claimId: string, checkpoint: Checkpoint): LeafResult {
  const evidenceByIndex = new Map<number, string[]>();
  const definitionEntries = new Set<number>();
  const problems: string[] = [];
  const inclusion: string[] = [];
  const leaves = new Map(bundle.log.leaves.map((l) => [l.index, l]));
  const known = new Set(bundle.evidence.map((e) => e.digest));
  for (const [i, v] of bundle.claim.history.entries()) {
    if (v.logIndex === null) {
      problems.push(`verdict #${i} (${v.status}) was never logged`);
      continue;
    }
    const leaf = leaves.get(v.logIndex);
    if (!leaf) {
      problems.push(`verdict #${i} names log entry ${v.logIndex} but the server has no such leaf (leaf removed)`);
      continue;
    }
    let logged: Record<string, unknown>;
    try {
      logged = JSON.parse(leaf.data) as Record<string, unknown>;
    } catch {
      problems.push(`log entry ${v.logIndex} is not a verdict record`);
      continue;
    }
    const evidence = Array.isArray(logged.evidence) ? logged.evidence.filter((d): d is string => typeof d === 'string') : [];
    evidenceByIndex.set(v.logIndex, evidence);
    // Which task definition the verdict was judged against: taken from the leaf, and held to the bundle's task by
    // the task.definition check.
    const definitionEntry = typeof logged.taskDefinitionEntry === 'number' ? logged.taskDefinitionEntry : null;
    if (definitionEntry !== null) definitionEntries.add(definitionEntry);
    const expected = verdictRecordText({
      claim: { id: claimId, task: claim.task, commit: claim.commit, submitter: claim.submitter, metric: claim.metric },
      verdict: { status: v.status, method: v.method, reasonCode: v.reasonCode, rule: v.rule, evidence },
      decidedAt: v.decidedAt,
      taskDefinitionEntry: definitionEntry,
    });
    if (expected !== leaf.data) problems.push(`log entry ${v.logIndex}: ${nameDifference(JSON.parse(expected) as Record<string, unknown>, logged)}`);
    const missing = evidence.filter((d) => !known.has(d));
    if (missing.length) problems.push(`log entry ${v.logIndex} names evidence the server no longer shows: ${missing.map((d) => d.slice(0, 12)).join(', ')}`);
    const notIncluded = leafInclusionProblem(leaf, checkpoint);
    if (notIncluded) inclusion.push(`entry ${leaf.index}: ${notIncluded}`);
  }
  const n = bundle.claim.history.length;
  return {
    evidenceByIndex,
    definitionEntries,
    checks: [
      problems.length
        ? fail('log.leaves', problems.join('; '))
        : pass('log.leaves', `${n} verdict(s), each logged with the record recomputed from the signed claim`),
      inclusion.length
        ? fail('log.inclusion', inclusion.join('; '))
        : n === 0
          ? skip('log.inclusion', 'nothing logged yet')
          : pass('log.inclusion', `${n} leaf(s) included in the signed checkpoint of size ${checkpoint.size}`),
    ],
  };
}

/** Names the fields that differ between the record the server's data implies and the logged one. */
function nameDifference(expected: Record<string, unknown>, logged: Record<string, unknown>): string {
  const fields = [...new Set([...Object.keys(expected), ...Object.keys(logged)])];
  const diffs = fields
    .filter((f) => JSON.stringify(expected[f]) !== JSON.stringify(logged[f]))
    .map((f) => `${f} is ${JSON.stringify(logged[f])} in the log but ${JSON.stringify(expected[f])} on the server`);
  if (diffs.length === 0) return 'the leaf is not in canonical form';
  const verdictFields = ['status', 'method', 'reasonCode', 'rule', 'decidedAt'];
  const what = diffs.length && fields.some((f) => verdictFields.includes(f) && JSON.stringify(expected[f]) !== JSON.stringify(logged[f]))
    ? 'verdict changed'
    : 'record changed';
  return `${what}: ${diffs.join('; ')}`;
}

/**
 * The latest verdict, derived again: the event that led to it is rebuilt from the evidence its log leaf names (proofs
 * checked with the repository's keys, attestations against the registry as registered, at the verdict's time), and
 * the service's own rules (src/verdict/rules.ts) must reach the same status, method and reason from the verdict
 * before it. Reasons that rest on what a bundle cannot show (a worker's failure report, statement reuse across claims,
 * an operator's decision) are reported as not re-derivable.
 */
function checkVerdictRule(
  v: VerdictEntry,
  previous: ClaimState,
  named: string[] | undefined,
  bundle: ClaimBundle,
  claim: ClaimPayload,
  claimId: string,
  zk: Map<string, ZkCheck>,
  registry: VerifierKey[],
  policy: TaskPolicy,
  parentRuns: readonly number[] | null,
): Check {
  const id = 'verdict.rule';
  const label = `${v.status}${v.method ? ` by ${v.method}` : ''} (${v.rule})`;
  if (v.status === 'pending' && v.reasonCode === null) return pass(id, 'pending: the claim asserts nothing yet');
  const items = bundle.evidence.filter((e) => (named ?? []).includes(e.digest));
  const att = items.filter((e) => e.kind === 'attestation');
  const at = new Date(v.decidedAt);
  const judged = (p: TaskPolicy): Judgement => judge(claim, claimId, att, registry, p, at, parentRuns, environmentPinsOf(bundle.task.pack));
  const event = eventBehind(v, previous, items, zk, judged, policy);
  if (!event) return warn(id, `${label}: this reason is not re-derivable from the bundle`);
  const decision = nextVerdict(previous, event);
  const derived = decision ? decision.verdict : null;
  if (derived && derived.status === v.status && derived.method === v.method && derived.reasonCode === v.reasonCode) {
    return pass(id, `${label}: the rules reach it again from the evidence it names`);
  }
  const got = derived ? `${derived.status}${derived.method ? ` by ${derived.method}` : ''}${derived.reasonCode ? ` (${derived.reasonCode})` : ''}` : 'no change';
  const lateKeys = event.kind === 'attestations_judged' || event.kind === 'replay_result' || event.kind === 'intake' ? keysAfterTheFact(judged(policy)) : '';
  return fail(id, `${label}, but the evidence it names gives ${got}${lateKeys}`);
}

/** The event that the verdict `v` answered, rebuilt from the evidence it names; null when a bundle cannot show it. */
function eventBehind(
  v: VerdictEntry,
  previous: ClaimState,
  items: Evidence[],
  zk: Map<string, ZkCheck>,
  judged: (p: TaskPolicy) => Judgement,
  policy: TaskPolicy,
): VerdictEvent | null {
  const evidenceDigests = items.map((e) => e.digest);
  const attestations = (): AttestationsOutcome | null => {
    if (!items.some((e) => e.kind === 'attestation')) return null;
    const j = judged(policy);
    return { outcome: j.outcome, rule: j.rule };
  };
  const replayed = (job: 'replay' | 'audit'): VerdictEvent => {
    const j = judged(replayPolicy(policy));
    return { kind: 'replay_result', job, agrees: j.outcome === 'verified', rule: j.rule, evidenceDigest: evidenceDigests[0] ?? '' };
  };
  const fresh = previous.status === 'pending' && previous.reasonCode === null;
  if (v.reasonCode === 'zk_statement_reused') return null;
  if (v.status === 'verified' && previous.status === 'verified') {
    // After a verified verdict, a verified one is an audit: one that agreed (its replay result must count), or the
    // withdrawal of an audit whose signer was revoked as compromised (the badge goes; nothing to re-derive).
    if (evidenceDigests.length === 0) return { kind: 'audit_signer_compromised', keyId: '' };
    return replayed('audit');
  }
  if (v.method === 'zk' || v.reasonCode?.startsWith('zk_')) {
    const outcomes: ZkOutcome[] = items
      .filter((e) => e.kind === 'zk')
      .map((e) => {
        const r = zk.get(e.digest);
        return !r ? { kind: 'uncheckable' } : r.ok ? { kind: 'verified', rule: 'groth16 proof verifies' } : { kind: 'rejected', reasonCode: r.reason, rule: r.message };
      });
    return { kind: 'intake', zk: outcomes, attestations: attestations(), evidenceDigests };
  }
  if (v.reasonCode === 'contradiction_withdrawn' && (previous.reasonCode === 'replay_contradicts' || previous.reasonCode === 'audit_contradicts')) {
    // The replay's or audit's signer was revoked as compromised: what the registry shows decides, nothing to recompute.
    return { kind: 'contradiction_signer_compromised', keyId: '' };
  }
  if (v.method === 'replayed' || v.reasonCode === 'replay_contradicts') return replayed('replay');
  if (v.reasonCode === 'audit_contradicts') return replayed('audit');
  if (v.method === 'attested' || v.reasonCode === 'attestation_contradicts' || v.reasonCode === 'quorum_lost' || v.reasonCode === 'contradiction_withdrawn') {
    if (fresh && v.reasonCode !== 'quorum_lost' && v.reasonCode !== 'contradiction_withdrawn') {
      return { kind: 'intake', zk: [], attestations: attestations(), evidenceDigests };
    }
    const j = judged(policy);
    const cause = previous.status === 'rejected' || previous.status === 'disputed' || v.reasonCode === 'quorum_lost' ? 'trust_changed' : 'new_attestation';
    return { kind: 'attestations_judged', cause, judged: { outcome: j.outcome, rule: j.rule }, evidenceDigests };
  }
  return null;
}

function keysAfterTheFact(j: Judgement): string {
  const late = j.rejected.filter((r) => r.reason === 'key_not_yet_valid');
  return late.length ? ` — a signing key was not yet registered when its attestation arrived (verifier key added after the fact)` : '';
}
