// A seeded leaderboard for page tests: claims go in through the real intake (POST /v1/claims) and their verdicts
// through the real recordVerdict, so every row, verdict and log leaf is what the service itself would write.
import { eq } from 'drizzle-orm';
import { claims, evidence, replayJobs, tasks } from '../../db/schema.ts';
import type { Api } from '../../src/api/app.ts';
import type { AppContext } from '../../src/service/context.ts';
import { recordVerdict } from '../../src/service/storage/record-verdict.ts';
import type { Verdict } from '../../src/verdict/verdict.ts';
import { evidenceDigest } from '../../src/verdict/evidence-digest.ts';
import { syntheticCommit, type SyntheticCommit } from '../helpers/git-objects.ts';
import { DEFAULT_COMMIT, newKey, postJson, putBlob, signedClaim, withIntake, type TestKey } from '../helpers/claims.ts';

// Real commits in real bundles, built with the lineage the seeded board shows (intake checks that a bundle holds its
// commit and that a named parent is a known ancestor). Any other label is a root commit.
const LINEAGE: Record<string, string> = { b2: 'a1', c3: 'b2', d4: 'b2', f6: 'c3', a7: 'c3', b8: 'b2' };
const seedCommits = new Map<string, SyntheticCommit>();
function seedCommit(label: string): SyntheticCommit {
  const parent = LINEAGE[label];
  const c = syntheticCommit(`seed ${label}`, parent ? [seedCommit(parent)] : []);
  seedCommits.set(c.commit, c);
  return c;
}
export const commitOf = (label: string) => seedCommit(label).commit;

export type Seeded = Awaited<ReturnType<typeof seedLeaderboard>>;

export async function submitPending(app: Api, key: TestKey, commit: string, value: number, parent: string | null = null) {
  const made = seedCommits.get(commit);
  if (!made) throw new Error(`seed: ${commit} is not a commitOf(label)`);
  const put = await putBlob(app, made.bundle);
  if (put.status !== 201 && put.status !== 200) throw new Error(`bundle upload: ${put.status}`);
  const res = await postJson(
    app,
    '/v1/claims',
    withIntake({ claim: signedClaim(key, { commit, bundle: made.bundleRef, parent, metric: { name: 'correct', value }, createdAt: new Date().toISOString() }), evidence: [] }),
  );
  if (res.status !== 202) throw new Error(`seed claim refused: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

export async function decide(ctx: AppContext, claimId: string, verdict: Omit<Verdict, 'evidenceDigests'>, decidedAt: Date) {
  await ctx.db.transaction(async (tx) => {
    const [row] = await tx.select().from(claims).where(eq(claims.id, claimId));
    await recordVerdict(ctx, tx, row!, { ...verdict, evidenceDigests: [] }, decidedAt);
    if (verdict.status !== 'pending') await tx.update(replayJobs).set({ state: 'done' }).where(eq(replayJobs.claimId, claimId));
  });
}

/**
 * Expected board for digits-mlp (higher is better): 1520 replayed, 1500 attested, 1450 zk+audited; 1600 disputed
 * (struck through above them); 1400 rejected (absent); one claim queued and one running.
 */
export async function seedLeaderboard(ctx: AppContext, app: Api) {
  // Seeded claims carry no evidence; without proof-of-work difficulty they need no stamp (the pages are under test,
  // not the intake's flood protection).
  await ctx.db.update(tasks).set({ stampBaseBits: 0 }).where(eq(tasks.id, 'digits-mlp'));
  const put = await putBlob(app, DEFAULT_COMMIT.bundle);
  if (put.status !== 201 && put.status !== 200) throw new Error(`blob upload: ${put.status}`);
  const alice = newKey();
  const bob = newKey();
  const carol = newKey();
  const hour = 3600_000;
  const t = (h: number) => new Date(Date.now() - h * hour);

  const zkAudited = await submitPending(app, alice, commitOf('a1'), 1450);
  await addEvidence(ctx, zkAudited, { type: 'zk', circuit: 'digits-mlp-v1', shards: [{ publicSignals: ['91371234567890123'] }] });
  await decide(ctx, zkAudited, { status: 'verified', method: 'zk', reasonCode: null, rule: 'groth16 proof over 1 shard(s) of circuit digits-mlp-v1' }, t(30));
  await ctx.db.update(claims).set({ auditedAt: t(20) }).where(eq(claims.id, zkAudited));

  const attested = await submitPending(app, bob, commitOf('b2'), 1500, commitOf('a1'));
  for (const keyid of ['5f0c2a7e91d3b6a4c8e2f1a0b9d8c7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0', '9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b']) {
    await addEvidence(ctx, attested, { type: 'attestation', envelope: { payloadType: 'application/vnd.in-toto+json', payload: '', signatures: [{ keyid, sig: '' }] } });
  }
  await decide(ctx, attested, { status: 'verified', method: 'attested', reasonCode: null, rule: 'quorum 2/2 within abs 0' }, t(18));

  const replayed = await submitPending(app, alice, commitOf('c3'), 1520, commitOf('b2'));
  await decide(ctx, replayed, { status: 'verified', method: 'replayed', reasonCode: null, rule: 'replay by 1 verifier within abs 0' }, t(6));

  const disputed = await submitPending(app, carol, commitOf('d4'), 1600, commitOf('b2'));
  await decide(ctx, disputed, { status: 'verified', method: 'zk', reasonCode: null, rule: 'groth16 proof over 1 shard(s)' }, t(4));
  await decide(ctx, disputed, { status: 'disputed', method: null, reasonCode: 'audit_contradicts', rule: 'audit replay measured 1391' }, t(2));

  const rejected = await submitPending(app, carol, commitOf('e5'), 1400);
  await decide(ctx, rejected, { status: 'rejected', method: null, reasonCode: 'zk_pairing_failed', rule: 'groth16 proof rejected' }, t(1));

  const queued = await submitPending(app, bob, commitOf('f6'), 1530, commitOf('c3'));
  const running = await submitPending(app, alice, commitOf('a7'), 1490, commitOf('c3'));
  await ctx.db
    .update(replayJobs)
    .set({ state: 'leased', attempts: 1, leaseOwner: 'seed/worker-1', updatedAt: new Date(Date.now() - 95_000), leaseExpiresAt: new Date(Date.now() + 600_000) })
    .where(eq(replayJobs.claimId, running));

  return { zkAudited, attested, replayed, disputed, rejected, queued, running, keys: { alice, bob, carol } };
}

// Evidence rows as intake would store them (the checks that admit them are tested in test/api and test/zk).
export async function addEvidence(ctx: AppContext, claimId: string, body: { type: string } & Record<string, unknown>) {
  await ctx.db.insert(evidence).values({ claimId, kind: body.type, body, digest: evidenceDigest(body), receivedAt: new Date() });
}
