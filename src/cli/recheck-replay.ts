// `proofboard recheck --replay`: a third party re-runs a claim's commit in its own local sandbox with the same
// trusted harness, and compares what it measures with what the claim says and with the server's verdict.
import { createHash } from 'node:crypto';
import { verifyClaimEnvelope } from '../attest/claim.ts';
import { taskPolicySchema, withinTolerance } from '../attest/policy.ts';
import type { ClaimBundle } from '../recheck/bundle.ts';
import { fail, pass, skip, type Check } from '../recheck/report.ts';
import { checkSandboxAvailable } from '../replay/sandbox.ts';
import { isPackReplaySpec } from '../attest/task-pack.ts';
import { runReplayJob } from '../replay/run-job.ts';
import { publicPackOf } from './public-pack.ts';
import { ApiError, apiDownload } from './http-client.ts';

export async function runReplayForRecheck(bundle: ClaimBundle, opts: { server: string }): Promise<Check> {
  const sandbox = await checkSandboxAvailable();
  if (!sandbox.available) return skip('replay', `replay not available: no sandbox here (${sandbox.missing.join('; ')})`);
  // The signed claim says which bundle and commit to run; the server's copy of those fields is not trusted.
  const signed = verifyClaimEnvelope(bundle.envelope);
  if (!signed.ok) return fail('replay', `the claim envelope does not verify: ${signed.reason}`);
  const policy = taskPolicySchema.safeParse(bundle.task.policy);
  if (!policy.success) return fail('replay', 'the task policy in the bundle is malformed');
  const replay = (bundle.task as { replay?: unknown }).replay;
  if (!replay) return skip('replay', `task ${bundle.task.id} has no replay spec`);
  // A task stored by an older build names a harness compiled into the worker; this version has none.
  if (!isPackReplaySpec(replay)) return skip('replay', `task ${bundle.task.id}'s replay names a compiled-in harness, which this version no longer has`);
  // The pack comes with the bundle; the task.definition check holds it to the one logged when the task was registered.
  const pack = publicPackOf(opts.server, bundle.task);
  if (!pack.ok) return skip('replay', `replay not possible here: ${pack.reason}`);
  let bytes: Buffer;
  try {
    // No size cap beyond what the server accepted; the bytes must hash to the signed digest before anything runs.
    bytes = Buffer.from(await apiDownload(opts.server, `/v1/blobs/${signed.claim.bundle}`, Number.POSITIVE_INFINITY));
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    return fail('replay', `the server does not serve the commit's bundle ${signed.claim.bundle}: ${e.message}`);
  }
  const digest = signed.claim.bundle.slice('sha256:'.length);
  if (createHash('sha256').update(bytes).digest('hex') !== digest) return fail('replay', 'the served bundle does not match the signed digest');
  let outcome: Awaited<ReturnType<typeof runReplayJob>>;
  try {
    outcome = await runReplayJob({
      claimId: signed.claimId,
      task: signed.claim.task,
      commit: signed.claim.commit,
      metricName: signed.claim.metric.name,
      bundle: bytes,
      bundleSha256: digest,
      policy: policy.data,
      replay,
      pack: { pack: pack.pack, source: pack.source },
      gpus: false,
      environment: { gpu: 'cpu', driver: null, runtimes: { node: process.versions.node } },
    });
  } catch (e) {
    // A pack file the server does not serve, or serves with other bytes than its pin: nothing was measured.
    return fail('replay', `the replay could not run: ${e instanceof Error ? e.message : String(e)}`);
  }
  const serverSays = bundle.claim.status;
  // This machine's failure (a pack that did not arrive, a sandbox that could not start) measured nothing: it agrees
  // with no verdict, a rejection included.
  if (!outcome.ok && outcome.code === 'infrastructure') return fail('replay', `the replay could not run here: ${outcome.message.slice(0, 300)}`);
  if (!outcome.ok) {
    const consistent = serverSays === 'rejected' || serverSays === 'disputed';
    const detail = `local replay failed (${outcome.code}: ${outcome.message.slice(0, 200)}); the server says ${serverSays}`;
    return consistent ? pass('replay', detail) : fail('replay', detail);
  }
  const values = outcome.runs.map((r) => r.value);
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const agrees = withinTolerance(policy.data, signed.claim.metric.value, mean);
  const detail = `measured ${values.join(', ')} (claimed ${signed.claim.metric.value}); the server says ${serverSays}`;
  // A verified claim must replay within tolerance; a claim rejected by replay must not.
  if (serverSays === 'verified') return agrees ? pass('replay', detail) : fail('replay', `contradicts the verdict: ${detail}`);
  if (serverSays === 'rejected' && bundle.claim.history.at(-1)?.reasonCode === 'replay_contradicts') {
    return agrees ? fail('replay', `the claim replays fine but was rejected by replay: ${detail}`) : pass('replay', detail);
  }
  return pass('replay', detail);
}
