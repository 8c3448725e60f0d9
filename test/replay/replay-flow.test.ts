// A claim without evidence goes to replay: a real worker leases it over HTTP, trains the commit in the real
// sandbox, scores it with the trusted harness, and signs the result. Honest claims are verified (method replayed),
// overstated ones rejected; the number the code prints is never the score.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count, eq } from 'drizzle-orm';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createApp, type Api } from '../../src/api/app.ts';
import type { AppContext } from '../../src/service/context.ts';
import { evidence, verdicts } from '../../db/schema.ts';
import { runWorker } from '../../src/replay/worker.ts';
import { sandboxOrSkip } from '../helpers/sandbox-gate.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { makeTestContext, OPERATOR_TOKEN } from '../helpers/context.ts';
import { newKey, postJson, putBlob, signedClaim, stampedClaimBody, sha256Hex } from '../helpers/claims.ts';
import { serveApp } from '../helpers/http-server.ts';
import { cli } from '../helpers/processes.ts';
import { hostScore, makeDigitsRepo } from '../helpers/digits-repo.ts';

const sandboxReady = await sandboxOrSkip('replay flow tests');

describe.skipIf(!sandboxReady).each(databaseKinds())('replay through a real worker and sandbox on %s', (kind) => {
  let ctx: AppContext;
  let app: Api;
  let server: { url: string; close: () => Promise<void> };
  let close: () => Promise<void>;
  const worker = newKey();
  const submitter = newKey();
  const repo = makeDigitsRepo();
  const cheat = makeDigitsRepo((dir) => {
    // Prints a perfect score and writes a model of all zeros: the harness, not the print, decides.
    const text = 'import sys, json\nprint("correct: 64/64")\nout = sys.argv[sys.argv.index("--out") + 1]\n' +
      'json.dump({"format": "proofboard.digits-mlp.v1", "W1": [[0]*16]*8, "B1": [0]*8, "W2": [[0]*8]*10, "B2": [0]*10}, open(out, "w"))\n';
    writeFileSync(join(dir, 'train.py'), text);
  });
  let honestValue = 0;

  beforeAll(async () => {
    const t = await makeTestContext(kind);
    ctx = t.ctx;
    close = t.close;
    app = createApp(ctx, { log: (m, e) => console.error(m, e) });
    server = await serveApp(app);
    const add = await postJson(app, '/v1/verifier-keys', { name: 'test-worker', operator: 'test-worker', publicKey: worker.hex, tasks: ['digits-mlp'] }, { authorization: `Bearer ${OPERATOR_TOKEN}` });
    expect(add.status).toBe(201);
    honestValue = hostScore(repo.dir);
  });
  afterAll(async () => {
    await server?.close();
    await close?.();
    repo.cleanup();
    cheat.cleanup();
  });

  async function submitFor(r: { commit: string; bundle: Buffer }, value: number) {
    await putBlob(app, r.bundle);
    const env = signedClaim(submitter, { commit: r.commit, bundle: `sha256:${sha256Hex(r.bundle)}`, metric: { name: 'correct', value }, createdAt: new Date().toISOString() });
    const res = await postJson(app, '/v1/claims', await stampedClaimBody(app, submitter, env));
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  }
  const status = async (id: string) => (await (await app.request(`/v1/claims/${id}`)).json()) as { status: string; method: string | null; reasonCode: string | null; verdict: { rule: string } | null };

  it('verifies an honest claim by replay and rejects an overstated one', async () => {
    const honest = await submitFor(repo, honestValue);
    const overstated = await submitFor({ ...repo, commit: repo.commit }, honestValue + 1);
    const cheater = await submitFor(cheat, 64);
    const lines: string[] = [];
    const { jobs } = await runWorker({ server: server.url, secretKey: worker.secretKey, once: true, log: (l) => lines.push(l) });
    expect(jobs, lines.join('\n')).toBe(3);

    expect(await status(honest)).toMatchObject({ status: 'verified', method: 'replayed' });
    expect(await status(overstated)).toMatchObject({ status: 'rejected', reasonCode: 'replay_contradicts' });
    const c = await status(cheater);
    expect(c).toMatchObject({ status: 'rejected', reasonCode: 'replay_contradicts' });
    expect(c.verdict!.rule).toContain('0');
    for (const id of [honest, overstated, cheater]) {
      const [v] = await ctx.db.select({ n: count() }).from(verdicts).where(eq(verdicts.claimId, id));
      expect(v!.n).toBe(1);
      const [e] = await ctx.db.select({ n: count() }).from(evidence).where(eq(evidence.claimId, id));
      expect(e!.n).toBe(1);
    }
  });

  it('lets a third party replay a verdict on its own machine with recheck --replay', { timeout: 600_000 }, async () => {
    const ids = (await ctx.db.select({ id: evidence.claimId }).from(evidence)).map((r) => r.id);
    const { vkey } = (await (await app.request('/v1/log/key')).json()) as { vkey: string };
    const state = join(repo.dir, 'recheck-state.json');
    for (const id of [...new Set(ids)].slice(0, 2)) {
      const r = await cli(['recheck', id, '--server', server.url, '--log-key', vkey, '--state', state, '--replay', '--json']);
      const report = JSON.parse(r.stdout) as { ok: boolean; claims: { checks: { id: string; status: string; detail: string }[] }[] };
      const replay = report.claims[0]!.checks.find((c) => c.id === 'replay');
      expect(replay?.status, JSON.stringify(replay)).toBe('pass');
      expect(r.code, r.stdout.slice(0, 2000)).toBe(0);
    }
  });

  it('refuses lease requests from keys outside the registry', async () => {
    const stranger = newKey();
    await expect(runWorker({ server: server.url, secretKey: stranger.secretKey, once: true, log: () => {} })).rejects.toThrow(/403/);
  });
});
