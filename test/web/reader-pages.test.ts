// The readers' pages through app.request(), on both databases: one leaderboard row per commit, links everywhere, a
// claim page that says what refused evidence claimed and why it was refused, attestation cards with the values per
// run and seed, the hardware, the signer by its registry name, a revoked mark and the service's own worker, the
// recheck command with --log-key, and a chart caption that counts improvements, not points.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type Api } from '../../src/api/app.ts';
import type { AppContext } from '../../src/service/context.ts';
import { logVerifierKey } from '../../src/service/views/log-read.ts';
import { makeTestContext } from '../helpers/context.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { commitOf, seedLeaderboard, type Seeded } from './seed.ts';
import { seedReaders, type ReaderSeed } from './seed-readers.ts';

describe.each(databaseKinds())('readers’ pages on %s', (kind) => {
  let ctx: AppContext;
  let app: Api;
  let close: () => Promise<void>;
  let seeded: Seeded;
  let extra: ReaderSeed;

  beforeAll(async () => {
    const t = await makeTestContext(kind);
    ctx = t.ctx;
    close = t.close;
    app = createApp(ctx, { log: () => {} });
    seeded = await seedLeaderboard(ctx, app);
    extra = await seedReaders(ctx, app, seeded);
  });
  afterAll(async () => close());

  const html = async (path: string) => {
    const res = await app.request(path);
    expect(res.status, path).toBe(200);
    return res.text();
  };
  /** The <li> of the evidence list that holds `marker`. */
  const card = (page: string, marker: string) => {
    const at = page.indexOf(marker);
    expect(at, marker).toBeGreaterThan(-1);
    return page.slice(page.lastIndexOf('<li', at), page.indexOf('</li>', at));
  };

  it('shows one row per commit, its best verified claim, ranked among commits, with a link to the others', async () => {
    const page = await html('/tasks/digits-mlp');
    const rows = [...page.matchAll(/<tr[^>]* data-claim="([0-9a-f]{64})" data-commit="([0-9a-f]{40})"/g)].map((m) => ({ claim: m[1], commit: m[2] }));
    const commits = rows.map((r) => r.commit);
    expect(new Set(commits).size).toBe(commits.length);
    expect(rows.find((r) => r.commit === commitOf('c3'))?.claim).toBe(seeded.replayed);
    expect(page).not.toContain(`data-claim="${extra.again}"`);
    expect(page).toContain('data-more-claims="1"');
    expect(page).toContain(`href="/claims?task=digits-mlp&amp;commit=${commitOf('c3')}"`);
    const ranks = [...page.matchAll(/<td class="rank">(\d+)<\/td>/g)].map((m) => Number(m[1]));
    expect(ranks).toEqual(ranks.map((_, i) => i + 1));
    expect(page).toContain(`href="/submitters/${seeded.keys.alice.hex}"`);
    for (const list of ['/claims?task=digits-mlp&amp;status=pending', '/claims?task=digits-mlp&amp;status=rejected', '/claims?task=digits-mlp"']) {
      expect(page).toContain(`href="${list}`);
    }
    // The chart's first point is where the record starts: n points are n - 1 improvements.
    const points = [...page.matchAll(/<circle class="point"/g)].length;
    expect(points).toBeGreaterThanOrEqual(2);
    expect(page).toContain(`from 1450 to 1520 in ${points - 1} improvement${points === 2 ? '' : 's'}.`);
  });

  it('says what a refused proof claimed and why it was refused, never "Proves"', async () => {
    const page = await html(`/claims/${seeded.rejected}`);
    const zk = card(page, 'data-refused="zk_pairing_failed"');
    expect(zk).toContain('refused proof');
    expect(zk).toContain('Claimed to prove: weights W');
    expect(zk).toMatch(/Refused \(<span class="mono">zk_pairing_failed<\/span>\): groth16 proof rejected/);
    expect(zk).not.toContain('Proves');
    // A verified claim's proof still says what it proves.
    expect(card(await html(`/claims/${seeded.zkAudited}`), 'zero-knowledge proof')).toContain('Proves: weights W');
  });

  it('shows each attestation: values per run and seed, hardware, signer by name, revoked, the service’s own worker', async () => {
    const page = await html(`/claims/${extra.attested}`);
    const lab = card(page, `data-signer="${extra.labId}"`);
    expect(lab).toContain('<b>Lab Ridge</b>');
    expect(lab).toContain('operator lab-ridge');
    expect(lab).toContain('data-revoked="true"');
    expect(lab).toMatch(/badge disputed"[^>]*>revoked</);
    expect(lab).toContain('revoked (retired)');
    expect(lab).toMatch(/<td class="mono">0<\/td><td class="num">1504<\/td>/);
    expect(lab).toMatch(/<td class="mono">1<\/td><td class="num">1506<\/td>/);
    expect(lab).toContain('1 × NVIDIA H100 80GB HBM3, driver 550.90.07');
    expect(lab).not.toContain('own worker');

    const own = card(page, 'this service’s own worker');
    expect(own).toContain('<b>proofboard service worker</b>');
    expect(own).toContain('not an independent lab');
    expect(own).not.toContain('data-revoked');
    expect(own).toMatch(/<td class="mono">1<\/td><td class="num">1507<\/td>/);
    // Attested, not replayed: the page does not call it the service's replay.
    expect(page).not.toContain('data-service-replay');
  });

  it('says when "replayed" means this service re-ran the claim itself', async () => {
    const page = await html(`/claims/${extra.serviceReplayed}`);
    expect(page).toContain('data-service-replay');
    expect(page).toContain('The replay was run by this service itself');
    expect(card(page, 'this service’s own worker')).toContain('<b>proofboard service worker</b>');
  });

  it('links the commit, parent, submitter, bundle and JSON, and prints recheck with --log-key', async () => {
    const page = await html(`/claims/${seeded.attested}`);
    expect(page).toContain(`href="/claims?task=digits-mlp&amp;commit=${commitOf('b2')}"`);
    expect(page).toContain(`href="/claims?task=digits-mlp&amp;commit=${commitOf('a1')}"`);
    expect(page).toContain(`href="/submitters/${seeded.keys.bob.hex}"`);
    expect(page).toMatch(/href="\/v1\/blobs\/sha256:[0-9a-f]{64}" download=/);
    expect(page).toContain(`href="/v1/claims/${seeded.attested}"`);
    expect(page).toContain(`href="/v1/claims/${seeded.attested}/bundle"`);
    expect(page).toContain(`proofboard recheck ${seeded.attested} --server http://localhost --log-key ${logVerifierKey(ctx).replaceAll('+', '+')}`);
    // What each link leads to exists.
    for (const path of [`/v1/claims/${seeded.attested}`, `/submitters/${seeded.keys.bob.hex}`, `/claims?task=digits-mlp&commit=${commitOf('a1')}`]) {
      expect((await app.request(path)).status, path).toBe(200);
    }
  });
});
