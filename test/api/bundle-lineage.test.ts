// Intake ties a claim to its git bundle and checks its lineage (issue 15, findings 2 and 3), through the API on both
// databases: the bundle must be a git bundle with its whole history that holds the claimed commit, and a named parent
// must be an ancestor of the commit in that bundle and the commit of a stored, not rejected claim of the same task.
import { readFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claims } from '../../db/schema.ts';
import { createApp, type Api } from '../../src/api/app.ts';
import { signClaim, type ClaimPayload } from '../../src/attest/claim.ts';
import type { AppContext } from '../../src/service/context.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { makeTestContext } from '../helpers/context.ts';
import { newKey, postJson, putBlob, signedClaim, stampedClaimBody, withIntake, type TestKey } from '../helpers/claims.ts';
import { packEntry, syntheticChain, syntheticCommit, writeBundle, writePack, type SyntheticCommit } from '../helpers/git-objects.ts';

const zkClaim = JSON.parse(readFileSync(new URL('../zk/fixtures/claim.json', import.meta.url), 'utf8')) as ClaimPayload;
const zkEvidence = JSON.parse(readFileSync(new URL('../zk/fixtures/valid-evidence.json', import.meta.url), 'utf8')) as unknown;
// The zk fixtures' public test key (test/zk/fixtures/make-fixtures.ts): the proofs are bound to it.
const zkSecret = new Uint8Array(32).fill(7);

type Answer = { status: string; error?: { code: string; message: string } };

describe.each(databaseKinds())('bundle and lineage at intake on %s', (kind) => {
  let ctx: AppContext;
  let app: Api;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const t = await makeTestContext(kind);
    ctx = t.ctx;
    close = t.close;
    app = createApp(ctx, { log: (m, e) => console.error(m, e) });
  });
  afterAll(async () => close());

  /** Uploads the bundle, then posts a replay-bound claim (stamped) of `commit` with `parent`. */
  async function submit(key: TestKey, commit: string, bundle: Uint8Array | string, over: Partial<ClaimPayload> = {}) {
    const put = await putBlob(app, bundle);
    expect(put.status).toBeLessThan(300);
    const { ref } = (await put.json()) as { ref: string };
    const envelope = signedClaim(key, { commit, parent: null, bundle: ref, ...over });
    const res = await postJson(app, '/v1/claims', await stampedClaimBody(app, key, envelope));
    return { status: res.status, body: (await res.json()) as Answer };
  }
  const refused = (r: { status: number; body: Answer }, code: string) => {
    expect(r.body.error?.code, r.body.error?.message).toBe(code);
    expect(r.status).toBe(422);
  };
  const storedBy = async (key: TestKey) => (await ctx.db.select({ n: count() }).from(claims).where(eq(claims.submitter, key.hex)))[0]!.n;

  it('accepts an honest claim: its bundle holds the commit and all its history', async () => {
    const key = newKey();
    const c = syntheticCommit('honest');
    const r = await submit(key, c.commit, c.bundle);
    expect(r.status, r.body.error?.message).toBe(202);
    expect(r.body.status).toBe('pending');
  });

  it('refuses a zk claim whose bundle does not hold the proven commit, which its proofs alone would verify', async () => {
    const other = syntheticCommit('not-the-zk-commit');
    expect((await putBlob(app, other.bundle)).status).toBeLessThan(300);
    const post = (bundle: string) => postJson(app, '/v1/claims', withIntake({ claim: signClaim({ ...zkClaim, bundle }, zkSecret), evidence: [zkEvidence] }, zkSecret));
    const bad = await post(other.bundleRef);
    refused({ status: bad.status, body: (await bad.json()) as Answer }, 'bundle_missing_commit');
    // The same proofs with the bundle that holds the commit: verified, so the refusal above was the bundle's.
    const zk = syntheticCommit('zk-fixture');
    expect(zk.commit).toBe(zkClaim.commit);
    expect((await putBlob(app, zk.bundle)).status).toBeLessThan(300);
    const good = await post(zk.bundleRef);
    expect(((await good.json()) as Answer).status).toBe('verified');
  });

  it('refuses a claim whose bundle does not hold its commit, or whose blob is not a git bundle', async () => {
    const key = newKey();
    refused(await submit(key, syntheticCommit('absent').commit, syntheticCommit('present').bundle), 'bundle_missing_commit');
    refused(await submit(key, syntheticCommit('x').commit, 'bundle'), 'bundle_not_git');
    refused(await submit(key, syntheticCommit('x').commit, '# v2 git bundle\n\nPACK not really'), 'bundle_not_git');
    expect(await storedBy(key)).toBe(0);
  });

  it('refuses a bundle with prerequisites: no replay machine could unbundle it', async () => {
    const key = newKey();
    const [parent, child] = syntheticChain('thin', 2) as [SyntheticCommit, SyntheticCommit];
    const own = child.objects.filter((o) => !parent.objects.some((p) => p.oid === o.oid));
    const thin = writeBundle({ refs: [[child.commit, 'refs/heads/main']], objects: own, prerequisites: [parent.commit] });
    refused(await submit(key, child.commit, thin), 'bundle_incomplete');
    expect(await storedBy(key)).toBe(0);
  });

  it('refuses a zlib bomb in the pack with bounded work', async () => {
    const key = newKey();
    const c = syntheticCommit('bomb');
    const zeros = deflateSync(Buffer.alloc(8 * 1024 ** 2));
    const bundleOf = (entry: Buffer) => Buffer.concat([Buffer.from(`# v2 git bundle\n${c.commit} refs/heads/main\n\n`), writePack([], [entry])]);
    // A blob that declares a terabyte: refused before inflating.
    refused(await submit(key, c.commit, bundleOf(packEntry(3, 2 ** 40, zeros))), 'bundle_over_limits');
    // A blob that declares 10 bytes and inflates to 8 MiB: inflating stops at 10.
    refused(await submit(key, c.commit, bundleOf(packEntry(3, 10, zeros))), 'bundle_not_git');
    expect(await storedBy(key)).toBe(0);
  });

  it('refuses an unknown parent until a claim of the task names it, then accepts the child', async () => {
    const key = newKey();
    const [parent, child] = syntheticChain('lineage', 2) as [SyntheticCommit, SyntheticCommit];
    refused(await submit(key, child.commit, child.bundle, { parent: parent.commit }), 'unknown_parent');
    expect(await storedBy(key)).toBe(0);
    expect((await submit(key, parent.commit, parent.bundle)).status).toBe(202);
    expect((await submit(key, child.commit, child.bundle, { parent: parent.commit })).status).toBe(202);
  });

  it('does not count a rejected claim as a known parent', async () => {
    const key = newKey();
    // The zk fixture's proofs under another commit: rejected at intake for false evidence (zk_binding_commit).
    const parent = syntheticCommit('rejected-parent');
    expect((await putBlob(app, parent.bundle)).status).toBeLessThan(300);
    const res = await postJson(app, '/v1/claims', withIntake({ claim: signClaim({ ...zkClaim, commit: parent.commit, bundle: parent.bundleRef }, zkSecret), evidence: [zkEvidence] }, zkSecret));
    expect(((await res.json()) as Answer).status).toBe('rejected');
    const child = syntheticCommit('child-of-rejected', [parent]);
    refused(await submit(key, child.commit, child.bundle, { parent: parent.commit }), 'unknown_parent');
  });

  it('refuses a commit as its own parent, a parent outside the history, and a descendant as parent (a claimed cycle)', async () => {
    const key = newKey();
    const [a, b] = syntheticChain('cycle', 2) as [SyntheticCommit, SyntheticCommit];
    const stranger = syntheticCommit('stranger');
    for (const c of [a, b, stranger]) expect((await submit(key, c.commit, c.bundle)).status).toBe(202);
    const before = await storedBy(key);
    refused(await submit(key, b.commit, b.bundle, { parent: b.commit, createdAt: '2026-11-27T09:00:00.000Z' }), 'parent_not_ancestor');
    // The stranger is a known claim of the task, but b was not built on it.
    refused(await submit(key, b.commit, b.bundle, { parent: stranger.commit, createdAt: '2026-11-27T09:01:00.000Z' }), 'parent_not_ancestor');
    // a claims b as its parent, though b was built on a.
    refused(await submit(key, a.commit, b.bundle, { parent: b.commit, createdAt: '2026-11-27T09:02:00.000Z' }), 'parent_not_ancestor');
    expect(await storedBy(key)).toBe(before);
  });
});
