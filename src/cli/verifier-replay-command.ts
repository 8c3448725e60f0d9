// `proofboard verifier replay --claim ID --out FILE`: attesting by hand. Replays one claim on this machine with the
// worker's own sandbox and harness (src/replay/run-job.ts) and writes the result file `proofboard attest` signs, with
// the digests the run really used. Nothing is signed or sent here: the operator reads the file, then attests.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { verifyClaimEnvelope } from '../attest/claim.ts';
import { taskPolicySchema } from '../attest/policy.ts';
import { checkSandboxAvailable } from '../replay/sandbox.ts';
import { isPackReplaySpec } from '../attest/task-pack.ts';
import { runReplayJob } from '../replay/run-job.ts';
import { publicPackOf } from './public-pack.ts';
import { describeEnvironment, GpuUnavailableError } from '../replay/worker.ts';
import { serverUrlFromEnv } from '../config.ts';
import type { ReplayResultFile } from './attest-command.ts';
import { apiDownload, apiRequest } from './http-client.ts';
import { UsageError } from './usage.ts';

export async function verifierReplayCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      claim: { type: 'string' },
      out: { type: 'string' },
      server: { type: 'string', default: serverUrlFromEnv() },
      gpus: { type: 'string', default: '0' },
    },
  });
  if (!values.claim || !values.out || positionals.length > 0) throw new UsageError('give --claim ID and --out FILE');
  if (!/^[0-9a-f]{64}$/.test(values.claim)) throw new UsageError('--claim: 64 lowercase hex');
  const gpus = Number(values.gpus);
  if (!Number.isInteger(gpus) || gpus < 0 || gpus > 64) throw new UsageError('--gpus must be an integer 0..64');

  let environment: ReturnType<typeof describeEnvironment>;
  try {
    environment = describeEnvironment(gpus);
  } catch (e) {
    if (e instanceof GpuUnavailableError) throw new Error(`refusing to replay: ${e.message}`);
    throw e;
  }
  const sandbox = await checkSandboxAvailable();
  if (!sandbox.available) throw new Error(`sandbox unavailable, refusing to run submitted code: ${sandbox.missing.join('; ')}`);

  const { body } = await apiRequest<{ envelope: unknown; task: { id: string; policy: unknown; replay?: unknown; pack?: unknown } }>(
    values.server,
    'GET',
    `/v1/claims/${values.claim}/bundle`,
  );
  // The signed claim says what to run; the server's copy of the claim's fields is not trusted.
  const signed = verifyClaimEnvelope(body.envelope);
  if (!signed.ok) throw new Error(`the server's copy of claim ${values.claim} does not verify (${signed.reason})`);
  if (signed.claimId !== values.claim) throw new Error(`the server returned claim ${signed.claimId} for ${values.claim}`);
  const policy = taskPolicySchema.safeParse(body.task.policy);
  if (!policy.success) throw new Error(`task ${body.task.id}: its policy is malformed`);
  const replay = body.task.replay;
  if (!replay) throw new Error(`task ${body.task.id} has no replay spec: there is nothing to run`);
  // A pack's files by digest from the public blob route; a hidden evaluation set goes only to a worker holding a lease.
  const pack = isPackReplaySpec(replay) ? publicPackOf(values.server, body.task) : null;
  if (pack && !pack.ok) throw new Error(`${pack.reason}; run \`proofboard verifier --once\` to take one of its replay jobs instead`);
  const bundle = Buffer.from(await apiDownload(values.server, `/v1/blobs/${signed.claim.bundle}`, Number.POSITIVE_INFINITY));
  const digest = signed.claim.bundle.slice('sha256:'.length);
  if (createHash('sha256').update(bundle).digest('hex') !== digest) throw new Error('the served bundle does not match the signed digest');

  console.error(`replaying claim ${values.claim} (commit ${signed.claim.commit.slice(0, 12)}, task ${signed.claim.task}) in the sandbox...`);
  const outcome = await runReplayJob({
    claimId: signed.claimId,
    task: signed.claim.task,
    commit: signed.claim.commit,
    metricName: signed.claim.metric.name,
    bundle,
    bundleSha256: digest,
    policy: policy.data,
    replay,
    ...(pack?.ok ? { pack: { pack: pack.pack, source: pack.source } } : {}),
    gpus: gpus > 0,
    environment,
    onProgress: (stage) => console.error(`  ${stage}`),
  });
  if (!outcome.ok) throw new Error(`the replay failed (${outcome.code}): ${outcome.message.slice(0, 400)}`);
  const { predicate, subject } = outcome.statement;
  const result: ReplayResultFile = {
    runs: predicate.runs,
    environment: predicate.environment,
    startedAt: predicate.startedAt,
    finishedAt: predicate.finishedAt,
    modelSha256: subject[1]?.digest.sha256 ?? null,
  };
  writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
  const measured = predicate.runs.map((r) => `${r.value} (seed ${r.seed})`).join(', ');
  console.log(`measured ${signed.claim.metric.name} ${measured}; the claim says ${signed.claim.metric.value}`);
  console.log(`wrote ${values.out}; sign and post it with: proofboard attest --claim ${values.claim} --result ${values.out}`);
  return 0;
}
