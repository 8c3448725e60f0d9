// What `proofboard submit` checks on this machine before it uploads or posts anything. Every rejection counts against
// the submitter key for good (its reputation, then a ban), so evidence that would be refused is caught here: evidence
// made for another commit, task, key or claim, evidence of the wrong shape, a metric its own evidence contradicts or
// that the task does not measure, and a beats-parent claim that can never be tested. These are the server's own rules
// (the same pure functions where they exist); the server still checks everything again.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { attestationEvidenceSchema } from '../attest/attestation-evidence-schema.ts';
import type { ClaimPayload } from '../attest/claim.ts';
import { fromBase64 } from '../attest/bytes.ts';
import { taskPolicySchema, withinTolerance } from '../attest/policy.ts';
import { parseReplayStatement, type ReplayStatement } from '../attest/statement.ts';
import { firstIssue } from '../attest/validation.ts';
import { zkEvidenceSchema } from '../zk/evidence-schema.ts';
import { commitToFields, PUBLIC_SIGNALS, statementFromSignals, submitterToFields, taskToField } from '../zk/statement.ts';

/** Local checks refused the claim; nothing was sent. main.ts prints each problem and exits 1. */
export class SubmitRefused extends Error {
  constructor(readonly problems: string[]) {
    super(`not sent: ${problems.length === 1 ? problems[0] : `\n  - ${problems.join('\n  - ')}`}`);
  }
}

const evidenceSchema = z.discriminatedUnion('type', [zkEvidenceSchema, attestationEvidenceSchema]);
export type EvidenceFile = { file: string; item: z.infer<typeof evidenceSchema> };

/** Each --evidence file, parsed as the server will parse it; every problem at once, each naming its file. */
export function readEvidenceFiles(files: readonly string[]): EvidenceFile[] {
  const problems: string[] = [];
  const items: EvidenceFile[] = [];
  for (const file of files) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      problems.push(`${file}: not a JSON file (${e instanceof Error ? e.message : String(e)})`);
      continue;
    }
    const parsed = evidenceSchema.safeParse(json);
    if (!parsed.success) {
      problems.push(`${file}: not zk or attestation evidence (${firstIssue(parsed.error, 'evidence')}); make it with proofboard prove or proofboard attest`);
      continue;
    }
    items.push({ file, item: parsed.data });
  }
  if (problems.length) throw new SubmitRefused(problems);
  return items;
}

/** Who the claim is about, known before anything is asked of the server. */
export type ClaimSubject = { task: string; commit: string; submitter: string };

/**
 * Evidence made for another task, commit or submitter key, found without asking the server anything: a proof's
 * public signals name all three, an attestation's statement the task and the commit.
 */
export function bindingProblems(items: readonly EvidenceFile[], who: ClaimSubject): string[] {
  const problems: string[] = [];
  for (const { file, item } of items) {
    if (item.type === 'zk') {
      const problem = zkBindingProblem(file, item, who);
      if (problem) problems.push(problem);
      continue;
    }
    const parsed = statementOf(file, item.envelope.payload);
    if (typeof parsed === 'string') {
      problems.push(parsed);
      continue;
    }
    if (parsed.predicate.task !== who.task) problems.push(`${file}: the attestation is for task ${parsed.predicate.task}, not ${who.task}`);
    const commit = parsed.subject[0].digest.gitCommit;
    if (commit !== who.commit) problems.push(`${file}: the attestation is for commit ${commit}, not ${who.commit}`);
  }
  return problems;
}

function zkBindingProblem(file: string, item: z.infer<typeof zkEvidenceSchema>, who: ClaimSubject): string | null {
  const task = taskToField(who.task);
  const commit = commitToFields(who.commit);
  const key = submitterToFields(who.submitter);
  for (const [i, shard] of item.shards.entries()) {
    if (shard.publicSignals.length !== PUBLIC_SIGNALS.length) {
      return `${file}: shards[${i}] has ${shard.publicSignals.length} public signals, the circuit has ${PUBLIC_SIGNALS.length}`;
    }
    const st = statementFromSignals(shard.publicSignals.map(BigInt));
    if (st.task !== task) return `${file}: the proof is for another task than ${who.task}`;
    if (st.commitHi !== commit.commitHi || st.commitLo !== commit.commitLo || st.commitLen !== commit.commitLen) {
      return `${file}: the proof is for another commit than ${who.commit} (prove again with --commit ${who.commit})`;
    }
    if (st.submitterHi !== key.submitterHi || st.submitterLo !== key.submitterLo) {
      return `${file}: the proof binds another submitter key than ${who.submitter} (prove again with this --key)`;
    }
  }
  return null;
}

function statementOf(file: string, payload: string): ReplayStatement | string {
  let parsed: ReturnType<typeof parseReplayStatement>;
  try {
    parsed = parseReplayStatement(fromBase64(payload, 'payload'));
  } catch (e) {
    return `${file}: the attestation's payload is not base64 (${e instanceof Error ? e.message : String(e)})`;
  }
  return parsed.ok ? parsed.statement : `${file}: the attestation's statement is not a replay result (${parsed.message})`;
}

export type TaskFacts = { id: string; metricName: string; policy: unknown };

/**
 * The signed claim against its evidence and the task's public record: the metric the task measures, the value the
 * proofs count, the claim id the attestations name, whether their runs agree with the value within the task's
 * tolerance (one that does not is a contradiction), and whether a beats-parent claim can ever be tested (the t-test
 * needs two runs of each side).
 */
export function claimProblems(items: readonly EvidenceFile[], claim: ClaimPayload, claimId: string, task: TaskFacts): string[] {
  const problems: string[] = [];
  if (claim.metric.name !== task.metricName) {
    problems.push(`task ${task.id} measures ${task.metricName}, not ${claim.metric.name} (leave out --metric-name)`);
  }
  const policy = taskPolicySchema.safeParse(task.policy);
  if (claim.beatsParent) {
    const runs = policy.success ? Math.max(policy.data.runs, policy.data.seeds?.length ?? 0) : 0;
    if (runs < 2) {
      problems.push(`task ${task.id} cannot test --beats-parent: its policy asks ${runs} run(s) per attestation and the test needs at least 2`);
    }
  }
  for (const { file, item } of items) {
    if (item.type === 'zk') {
      let total = 0n;
      for (const shard of item.shards) total += statementFromSignals(shard.publicSignals.map(BigInt)).correct;
      if (total > BigInt(Number.MAX_SAFE_INTEGER) || Number(total) !== claim.metric.value) {
        problems.push(`${file}: the proof shows ${claim.metric.name} = ${total}, the claim says ${claim.metric.value}`);
      }
      continue;
    }
    const statement = statementOf(file, item.envelope.payload);
    if (typeof statement === 'string') continue;
    const { predicate } = statement;
    if (predicate.claimId !== claimId) problems.push(`${file}: the attestation is for claim ${predicate.claimId}, this claim is ${claimId}`);
    if (predicate.metric !== claim.metric.name) problems.push(`${file}: the attestation measured ${predicate.metric}, the claim is about ${claim.metric.name}`);
    const mean = predicate.runs.reduce((a, r) => a + r.value, 0) / predicate.runs.length;
    if (policy.success && !withinTolerance(policy.data, claim.metric.value, mean)) {
      problems.push(`${file}: the attestation measured ${mean} on average, which contradicts the claimed ${claim.metric.value} within task ${task.id}'s tolerance`);
    }
  }
  return problems;
}
