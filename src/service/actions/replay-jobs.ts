// The replay queue: durable rows in the database, leased to workers with an expiry. A worker that dies loses
// nothing: its lease runs out and the next lease request takes the job again. Completion happens in one
// transaction that checks the lease is still held, so a claim gets exactly one verdict per job.
import { and, asc, desc, eq, inArray, lt, or, sql } from 'drizzle-orm';
import { claims, evidence, replayJobs, submitterKeys, tasks } from '../../../db/schema.ts';
import type { Tx } from '../../../db/client.ts';
import { verifyAttestation } from '../../attest/verify-attestations.ts';
import { taskPolicySchema } from '../../attest/policy.ts';
import { toInertText } from '../../attest/inert-text.ts';
import { replayJobBudgetMs, replaySpecSchema } from '../../attest/replay-spec.ts';
import { packReplayJobBudgetMs, packReplaySpecSchema } from '../../attest/task-pack.ts';
import type { AppContext } from '../context.ts';
import { ServiceError } from '../errors.ts';
import { authorizeWorker } from '../judging/worker-auth.ts';
import { judgeAttestationItems } from '../judging/judge-evidence.ts';
import { evidenceDigest } from '../../verdict/evidence-digest.ts';
import { loadRegistry } from '../storage/registry.ts';
import { parentRunsOf } from '../judging/parent-runs.ts';
import { countSandboxKill, observeReplay } from '../instruments.ts';
import { nextVerdict, replayPolicy } from '../../verdict/rules.ts';
import { applyDecision, claimStateOf } from '../storage/apply-decision.ts';
import { claimPayloadOf } from '../judging/claim-payload.ts';

/** A job whose workers died this many times is parked as failed for an operator to look at, not retried forever. */
export const MAX_ATTEMPTS = 5;

export type LeasedJob = {
  jobId: number;
  kind: string;
  attempt: number;
  leaseExpiresAt: string;
  claim: { id: string; task: string; commit: string; parent: string | null; metric: { name: string; value: number }; bundle: string };
  task: { id: string; policy: unknown; replay: unknown; pack: unknown };
};

export async function leaseJob(ctx: AppContext, envelope: unknown): Promise<LeasedJob | null> {
  const worker = await authorizeWorker(ctx, envelope, 'lease');
  // Only tasks this machine can run: a job asking for more GPUs than the worker offers waits for one that has them,
  // instead of being leased, failed as infrastructure and retried until it is parked.
  const runnable = await tasksWithinGpus(ctx, worker.tasks, worker.request.gpus);
  if (runnable.length === 0) return null;
  const now = ctx.now();
  return ctx.db.transaction(async (tx) => {
    // Lease expiry is checked here, on every lease request, so no separate reaper has to be alive for jobs to recover.
    const [job] = await tx
      .select({ id: replayJobs.id, kind: replayJobs.kind, attempts: replayJobs.attempts, claimId: replayJobs.claimId, lastError: replayJobs.lastError })
      .from(replayJobs)
      .innerJoin(claims, eq(claims.id, replayJobs.claimId))
      .innerJoin(submitterKeys, eq(submitterKeys.publicKey, claims.submitter))
      .where(
        and(
          inArray(claims.taskId, runnable),
          or(eq(replayJobs.state, 'queued'), and(eq(replayJobs.state, 'leased'), lt(replayJobs.leaseExpiresAt, now))),
        ),
      )
      .orderBy(desc(queueScore(now)), asc(replayJobs.createdAt), asc(replayJobs.id))
      .limit(1)
      .for('update', { of: replayJobs, skipLocked: true });
    if (!job) return null;
    if (job.attempts >= MAX_ATTEMPTS) {
      await tx
        .update(replayJobs)
        // The last worker's error stays readable for the operator who looks at the parked job (proofboard admin jobs).
        .set({ state: 'failed', lastError: `gave up after ${job.attempts} leases expired or failed; last error: ${job.lastError ?? 'none (leases expired)'}`, updatedAt: now })
        .where(eq(replayJobs.id, job.id));
      return null;
    }
    const [claim] = await tx.select().from(claims).where(eq(claims.id, job.claimId));
    const [task] = await tx.select().from(tasks).where(eq(tasks.id, claim!.taskId));
    const deadline = new Date(now.getTime() + leaseBudgetMs(task!.policy, task!.replay));
    const expires = new Date(Math.min(now.getTime() + ctx.config.leaseMs, deadline.getTime()));
    await tx
      .update(replayJobs)
      .set({ state: 'leased', leaseOwner: worker.owner, leaseExpiresAt: expires, leaseDeadlineAt: deadline, attempts: job.attempts + 1, updatedAt: now })
      .where(eq(replayJobs.id, job.id));
    return {
      jobId: job.id,
      kind: job.kind,
      attempt: job.attempts + 1,
      leaseExpiresAt: expires.toISOString(),
      claim: {
        id: claim!.id,
        task: claim!.taskId,
        commit: claim!.commit,
        parent: claim!.parent,
        metric: { name: claim!.metricName, value: claim!.metricValue },
        bundle: `sha256:${claim!.bundleSha256}`,
      },
      // The pack (when the task has one) names the harness, evaluation and training files the worker fetches by digest
      // (POST /v1/replay/jobs/{id}/pack-files/{ref}) and checks before running anything.
      task: { id: task!.id, policy: task!.policy, replay: task!.replay, pack: task!.pack ?? null },
    };
  });
}

/** The tasks among `ids` whose replay asks for at most `gpus` GPUs (a spec without `gpus` asks for none). */
async function tasksWithinGpus(ctx: AppContext, ids: readonly string[], gpus: number): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await ctx.db.select({ id: tasks.id, replay: tasks.replay }).from(tasks).where(inArray(tasks.id, [...ids]));
  return rows.filter((t) => gpusAsked(t.replay) <= gpus).map((t) => t.id);
}

function gpusAsked(replay: unknown): number {
  const spec = packReplaySpecSchema.safeParse(replay);
  return spec.success ? spec.data.gpus : 0;
}

/**
 * How long one lease of a job may be kept alive: the task's whole replay budget (replay-spec.ts). A task without a
 * usable spec gets the default budget of one run per policy run; its worker will refuse it quickly anyway.
 */
function leaseBudgetMs(policy: unknown, replay: unknown): number {
  const runs = taskPolicySchema.safeParse(policy);
  const packSpec = packReplaySpecSchema.safeParse(replay);
  if (packSpec.success) return packReplayJobBudgetMs(packSpec.data, runs.success ? runs.data.runs : 1);
  const spec = replaySpecSchema.safeParse(replay);
  // The policy's seeds, when it fixes them, are exactly its runs (taskPolicySchema refuses anything else).
  return replayJobBudgetMs(spec.success ? spec.data : {}, runs.success ? runs.data.runs : 1);
}

/**
 * Queue order: the submitter's record first (verified claims raise it, rejected and disputed lower it), then the
 * proof-of-work in the claim's stamp, then age. Age grows without bound (one point per minute waited), so no job
 * waits forever behind better-reputed submitters.
 */
function queueScore(now: Date) {
  return sql`(${submitterKeys.reputation} * 10 + ${claims.stampBits} + extract(epoch from (${now.toISOString()}::timestamptz - ${replayJobs.createdAt})) / 60)`;
}

async function lockLeasedJob(tx: Tx, jobId: number, owner: string, now: Date) {
  const [job] = await tx.select().from(replayJobs).where(eq(replayJobs.id, jobId)).for('update');
  if (!job) throw new ServiceError('not_found', `no replay job ${jobId}`);
  // Heartbeats prove the worker is alive, not that the job is progressing: past the task's budget the lease is not
  // extended (nor the job finished), so a worker stuck on a job, or kept busy by it, cannot hold its claim forever.
  if (job.state === 'leased' && job.leaseOwner === owner && job.leaseDeadlineAt && job.leaseDeadlineAt <= now) {
    throw new ServiceError('conflict', 'lease overdue: the job ran past its task budget and goes back to the queue', { reason: 'lease_overdue' });
  }
  // A worker whose lease ran out must not finish the job: another worker may already hold it.
  if (job.state !== 'leased' || job.leaseOwner !== owner || !job.leaseExpiresAt || job.leaseExpiresAt < now) {
    throw new ServiceError('conflict', 'lease lost: the job is no longer leased to this worker', { reason: 'lease_lost' });
  }
  return job;
}

export async function heartbeatJob(ctx: AppContext, jobId: number, envelope: unknown) {
  const worker = await authorizeWorker(ctx, envelope, 'heartbeat');
  if (worker.request.jobId !== jobId) throw new ServiceError('bad_request', 'the signed request names another job');
  const now = ctx.now();
  return ctx.db.transaction(async (tx) => {
    const job = await lockLeasedJob(tx, jobId, worker.owner, now);
    const deadline = job.leaseDeadlineAt ?? new Date(now.getTime() + ctx.config.leaseMs);
    const expires = new Date(Math.min(now.getTime() + ctx.config.leaseMs, deadline.getTime()));
    await tx.update(replayJobs).set({ leaseExpiresAt: expires, updatedAt: now }).where(eq(replayJobs.id, jobId));
    return { leaseExpiresAt: expires.toISOString() };
  });
}

export async function failJob(ctx: AppContext, jobId: number, envelope: unknown) {
  const worker = await authorizeWorker(ctx, envelope, 'fail');
  const { request } = worker;
  if (request.jobId !== jobId || !request.failure) throw new ServiceError('bad_request', 'a fail request names its job and failure');
  // The message carries the job's own stderr: stored inert, so it reaches no page, log leaf or terminal as escapes.
  const failure = { ...request.failure, message: toInertText(request.failure.message) };
  const now = ctx.now();
  return ctx.db.transaction(async (tx) => {
    const job = await lockLeasedJob(tx, jobId, worker.owner, now);
    if (failure.code === 'infrastructure') {
      // The worker's own trouble says nothing about the claim: give the job back for another worker.
      await tx
        .update(replayJobs)
        .set({ state: 'queued', leaseOwner: null, leaseExpiresAt: null, lastError: failure.message, updatedAt: now })
        .where(eq(replayJobs.id, jobId));
      return { state: 'queued', verdict: null };
    }
    const [claim] = await tx.select().from(claims).where(eq(claims.id, job.claimId)).for('update');
    if (failure.killReason) countSandboxKill(failure.killReason);
    const decision = nextVerdict(claimStateOf(claim!), { kind: 'replay_failure', code: failure.code, verifier: worker.keyId, message: failure.message });
    const verdict = await applyDecision(ctx, tx, claim!, decision, now);
    await tx
      .update(replayJobs)
      .set({ state: 'done', result: { failure }, lastError: failure.message, updatedAt: now })
      .where(eq(replayJobs.id, jobId));
    return { state: 'done', verdict };
  });
}

export async function completeJob(ctx: AppContext, jobId: number, envelope: unknown, attestation: unknown) {
  const worker = await authorizeWorker(ctx, envelope, 'complete');
  if (worker.request.jobId !== jobId) throw new ServiceError('bad_request', 'the signed request names another job');
  const now = ctx.now();
  return ctx.db.transaction(async (tx) => {
    const job = await lockLeasedJob(tx, jobId, worker.owner, now);
    const [claim] = await tx.select().from(claims).where(eq(claims.id, job.claimId)).for('update');
    const [task] = await tx.select().from(tasks).where(eq(tasks.id, claim!.taskId));
    const registry = await loadRegistry(tx);
    const payload = claimPayloadOf(claim!);
    const single = verifyAttestation(attestation, { claim: payload, claimId: claim!.id, registry, receivedAt: now, now });
    if (!single.ok) throw new ServiceError('bad_attestation', `${single.reason}: ${single.message}`);
    // The result must be signed by the worker that held the lease, not by some other key it carries along.
    if (!single.verifierKeyIds.includes(worker.keyId)) {
      throw new ServiceError('bad_attestation', 'the attestation is not signed by the leasing verifier key');
    }
    const policy = replayPolicy(taskPolicySchema.parse(task!.policy));
    const parentRuns = await parentRunsOf(tx, task!, payload, registry, now);
    const judged = judgeAttestationItems({ ...task!, policy }, { ...payload, claimId: claim!.id }, [{ envelope: attestation, receivedAt: now }], registry, now, parentRuns);
    if (judged.outcome === 'insufficient') {
      const why = judged.rejected[0]?.message ?? 'does not meet the task policy';
      throw new ServiceError('bad_attestation', `replay result not usable: ${why}`);
    }
    const item = { type: 'attestation', envelope: attestation, source: `replay-job:${jobId}` };
    const digest = evidenceDigest(item);
    await tx.insert(evidence).values({ claimId: claim!.id, kind: 'attestation', body: item, digest, receivedAt: now }).onConflictDoNothing();

    const decision = nextVerdict(claimStateOf(claim!), { kind: 'replay_result', job: job.kind as 'replay' | 'audit', agrees: judged.outcome === 'verified', rule: judged.rule, evidenceDigest: digest });
    const verdict = await applyDecision(ctx, tx, claim!, decision, now);
    const predicate = single.statement.predicate;
    observeReplay(job.kind, judged.outcome, (Date.parse(predicate.finishedAt) - Date.parse(predicate.startedAt)) / 1000);
    await tx
      .update(replayJobs)
      .set({ state: 'done', result: { outcome: judged.outcome, rule: judged.rule, evidence: digest }, updatedAt: now })
      .where(eq(replayJobs.id, jobId));
    return { state: 'done', outcome: judged.outcome, verdict };
  });
}

export async function queueDepth(ctx: AppContext): Promise<number> {
  const [row] = await ctx.db
    .select({ n: sql<number>`count(*)::int` })
    .from(replayJobs)
    .where(or(eq(replayJobs.state, 'queued'), eq(replayJobs.state, 'leased')));
  return row?.n ?? 0;
}
