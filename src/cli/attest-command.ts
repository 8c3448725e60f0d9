// proofboard attest: a verifier operator signs what the task's harness measured for one claim and posts it.
//
// The server is not trusted to say what a claim is about: the signed claim envelope is fetched and verified here,
// and its id recomputed, so a lying or compromised server cannot get this key to sign a statement about a commit,
// task or metric other than the ones the submitter signed under that claim id.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { verifyClaimEnvelope } from '../attest/claim.ts';
import { firstIssue } from '../attest/validation.ts';
import {
  buildReplayStatement,
  environmentSchema,
  runSchema,
  signAttestation,
  type ReplayStatement,
} from '../attest/statement.ts';
import { apiRequest } from './http-client.ts';
import { defaultVerifierKeyPath, readKeyFile } from './key-file.ts';
import { serverUrlFromEnv } from '../config.ts';

export const USAGE = `usage: proofboard attest --claim ID --result FILE [--key FILE] [--server URL] [--json]

  FILE is the replay result as JSON:
    { "runs": [{ "seed": 0, "value": 91 }], "environment": { ... }, "startedAt": "...Z", "finishedAt": "...Z",
      "modelSha256": "<64 hex, optional>" }
  See docs/verifier-operators.md for every field.`;

const claimIdSchema = z.string().regex(/^[0-9a-f]{64}$/, 'claim id: 64 lowercase hex');

/** The result file: what the harness measured. Strict, so a misspelt optional field is an error, not silently dropped. */
export const replayResultFileSchema = z
  .object({
    runs: z.array(runSchema).min(1),
    environment: environmentSchema,
    startedAt: z.string(),
    finishedAt: z.string(),
    modelSha256: z.string().nullable().optional(),
  })
  .strict();
export type ReplayResultFile = z.infer<typeof replayResultFileSchema>;

type AttestationAnswer = { claimId: string; status: string; method: string | null; verdict: { rule: string; reasonCode: string | null } | null };

export async function attestCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      claim: { type: 'string' },
      result: { type: 'string' },
      key: { type: 'string', default: defaultVerifierKeyPath() },
      server: { type: 'string', default: serverUrlFromEnv() },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.claim || !values.result || positionals.length > 0) {
    console.error(USAGE);
    return 2;
  }
  const claimId = claimIdSchema.safeParse(values.claim);
  if (!claimId.success) {
    console.error(firstIssue(claimId.error, '--claim'));
    return 2;
  }
  const result = readResultFile(values.result);
  const key = readKeyFile(values.key, 'proofboard verifier keygen');

  const bundle = await apiRequest<{ envelope: unknown }>(values.server, 'GET', `/v1/claims/${claimId.data}/bundle`);
  const checked = verifyClaimEnvelope(bundle.body.envelope);
  if (!checked.ok) throw new Error(`the server's copy of claim ${claimId.data} does not verify (${checked.reason}): not signing`);
  if (checked.claimId !== claimId.data) throw new Error(`the server returned claim ${checked.claimId} for ${claimId.data}: not signing`);

  const statement = toStatement(checked.claim, claimId.data, result);
  // The keyid is only a hint (DSSE): the public key itself lets the server find the record without guessing.
  const envelope = signAttestation(statement, key.secretKey, key.publicKeyHex);
  const res = await apiRequest<AttestationAnswer>(values.server, 'POST', `/v1/claims/${claimId.data}/attestations`, {
    attestation: envelope,
  });
  if (values.json) console.log(JSON.stringify(res.body));
  else {
    console.log(`claim ${res.body.claimId}`);
    const how = res.body.method ?? res.body.verdict?.reasonCode ?? null;
    const progress = res.body.status === 'pending' ? await quorumProgress(values.server, claimId.data, checked.claim.task) : null;
    console.log(`status ${res.body.status}${how ? ` (${how})` : ''}${progress ? ` (${progress})` : ''}`);
    if (res.body.verdict) console.log(`rule ${res.body.verdict.rule}`);
  }
  return 0;
}

export function readResultFile(path: string): ReplayResultFile {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not a JSON file (${e instanceof Error ? e.message : String(e)})`);
  }
  const parsed = replayResultFileSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${path}: ${firstIssue(parsed.error)}`);
  return parsed.data;
}

/** The statement exactly as docs/verifier-operators.md describes it; invalid values name the field at fault. */
export function toStatement(
  claim: { task: string; commit: string; metric: { name: string } },
  claimId: string,
  result: ReplayResultFile,
): ReplayStatement {
  try {
    return buildReplayStatement({
      commit: claim.commit,
      modelSha256: result.modelSha256 ?? null,
      predicate: {
        task: claim.task,
        claimId,
        metric: claim.metric.name,
        runs: result.runs,
        environment: result.environment,
        startedAt: result.startedAt,
        finishedAt: result.finishedAt,
      },
    });
  } catch (e) {
    if (e instanceof z.ZodError) throw new Error(`result does not make a valid statement: ${firstIssue(e)}`);
    throw e;
  }
}

/**
 * "1 of 2 attestations": what a pending answer is waiting for, from the claim's public record and the task's quorum.
 * Only a hint for the operator at the terminal: a read that fails leaves the line as the server's answer said.
 */
async function quorumProgress(server: string, claimId: string, task: string): Promise<string | null> {
  try {
    const claim = await apiRequest<{ evidence: { kind: string }[] }>(server, 'GET', `/v1/claims/${claimId}`);
    const policy = await apiRequest<{ policy: { quorum?: number } | null }>(server, 'GET', `/v1/tasks/${encodeURIComponent(task)}`);
    const have = claim.body.evidence.filter((e) => e.kind === 'attestation').length;
    const quorum = policy.body.policy?.quorum;
    if (typeof quorum !== 'number') return null;
    return `${have} of ${quorum} attestations from distinct operators${have < quorum ? `: waiting for ${quorum - have} more` : ''}`;
  } catch {
    return null;
  }
}
