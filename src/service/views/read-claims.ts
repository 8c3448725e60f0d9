// Read side: a claim with its evidence and verdict history, and the bundle a third party needs to re-check it.
import { and, asc, desc, eq, inArray } from 'drizzle-orm';
import { claims, evidence, replayJobs, verdicts } from '../../../db/schema.ts';
import type { AppContext } from '../context.ts';
import { ServiceError } from '../errors.ts';

export async function getClaim(ctx: AppContext, claimId: string) {
  const [claim] = await ctx.db.select().from(claims).where(eq(claims.id, claimId));
  if (!claim) throw new ServiceError('unknown_claim', `no claim ${JSON.stringify(claimId)}`);
  const items = await ctx.db.select().from(evidence).where(eq(evidence.claimId, claimId)).orderBy(asc(evidence.id));
  const history = await ctx.db.select().from(verdicts).where(eq(verdicts.claimId, claimId)).orderBy(asc(verdicts.id));
  const jobs = await ctx.db.select().from(replayJobs).where(eq(replayJobs.claimId, claimId)).orderBy(asc(replayJobs.id));
  return { claim, evidence: items, verdicts: history, jobs };
}

export type ClaimView = Awaited<ReturnType<typeof getClaim>>;

export function toClaimJson(view: ClaimView, now: Date) {
  const { claim } = view;
  const latest = view.verdicts.at(-1) ?? null;
  return {
    id: claim.id,
    task: claim.taskId,
    commit: claim.commit,
    parent: claim.parent,
    beatsParent: claim.beatsParent,
    metric: { name: claim.metricName, value: claim.metricValue },
    submitter: claim.submitter,
    bundle: `sha256:${claim.bundleSha256}`,
    claimedAt: claim.claimedAt.toISOString(),
    receivedAt: claim.receivedAt.toISOString(),
    status: claim.status,
    method: claim.method,
    reasonCode: claim.reasonCode,
    // When an audit replay last agreed with the claim's verification (the "audited" badge); null when none counts.
    auditedAt: claim.auditedAt?.toISOString() ?? null,
    verdict: latest && {
      status: latest.status,
      method: latest.method,
      reasonCode: latest.reasonCode,
      rule: latest.rule,
      decidedAt: latest.decidedAt.toISOString(),
      logIndex: latest.logIndex,
    },
    history: view.verdicts.map((v) => ({
      status: v.status,
      method: v.method,
      reasonCode: v.reasonCode,
      rule: v.rule,
      decidedAt: v.decidedAt.toISOString(),
      logIndex: v.logIndex,
    })),
    evidence: view.evidence.map((e) => ({ kind: e.kind, digest: e.digest, receivedAt: e.receivedAt.toISOString() })),
    replay: view.jobs.map((j) => ({
      kind: j.kind,
      state: j.state,
      attempts: j.attempts,
      queuedAt: j.createdAt.toISOString(),
      runningForMs: j.state === 'leased' ? Math.max(0, now.getTime() - j.updatedAt.getTime()) : null,
    })),
  };
}

/** Leaderboard rows: verified claims, best metric first in the task's direction, earliest first among equals. */
export async function listVerifiedClaims(ctx: AppContext, taskId: string, direction: 'higher' | 'lower', limit: number) {
  const order = direction === 'higher' ? desc(claims.metricValue) : asc(claims.metricValue);
  return ctx.db
    .select()
    .from(claims)
    .where(and(eq(claims.taskId, taskId), eq(claims.status, 'verified')))
    .orderBy(order, asc(claims.receivedAt), asc(claims.id))
    .limit(limit);
}

export async function claimsByCommit(ctx: AppContext, taskId: string, commits: string[]) {
  if (commits.length === 0) return [];
  return ctx.db
    .select({ id: claims.id, commit: claims.commit, status: claims.status, metricValue: claims.metricValue })
    .from(claims)
    .where(and(eq(claims.taskId, taskId), inArray(claims.commit, commits)));
}
