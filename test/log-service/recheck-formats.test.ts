// The re-check engine recomputes two byte formats without importing the service: they must stay identical to the
// service's, or every honest claim would fail its re-check (or, worse, a dishonest one could pass). Also: the
// engine imports only the pure libraries, and the log-side checks name a split view and a rollback.
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, evidenceDigest } from '../../src/verdict/evidence-digest.ts';
import { verdictRecordText } from '../../src/verdict/record.ts';
import { checkConsistency } from '../../src/recheck/check-log.ts';
import { checkRegistryHistory, snapshotRegistry } from '../../src/recheck/registry-history.ts';
import { toVerdictRecordBytes } from '../../src/service/record-verdict.ts';
import { MemoryTree, type Checkpoint } from '../../src/log/index.ts';
import type { Fetcher } from '../../src/recheck/http.ts';

describe('recheck formats match the service', () => {
  it('canonical JSON: one spelling per value whatever the key order, and it parses back to the value', () => {
    const reversed = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(reversed) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversed(x)])) : v;
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(canonicalJson(reversed(v))).toBe(canonicalJson(v));
        expect(evidenceDigest(reversed(v))).toBe(evidenceDigest(v));
        expect(JSON.parse(canonicalJson(v))).toEqual(JSON.parse(JSON.stringify(v)));
      }),
    );
  });

  it('verdict records', () => {
    const statuses = fc.constantFrom('verified', 'rejected', 'pending', 'disputed');
    fc.assert(
      fc.property(
        fc.record({
          id: fc.string({ minLength: 1, maxLength: 64 }),
          taskId: fc.string(),
          commit: fc.string(),
          submitter: fc.string(),
          metricName: fc.string(),
          metricValue: fc.double({ noNaN: true, noDefaultInfinity: true }),
        }),
        fc.record({
          status: statuses,
          method: fc.constantFrom('zk', 'attested', 'replayed', null),
          reasonCode: fc.option(fc.string()),
          rule: fc.string(),
          evidenceDigests: fc.array(fc.string()),
        }),
        fc.date({ min: new Date(0), max: new Date('2200-01-01'), noInvalidDate: true }),
        (claim, verdict, at) => {
          const service = new TextDecoder().decode(toVerdictRecordBytes(claim, verdict as never, at));
          const ours = verdictRecordText({
            claim: { id: claim.id, task: claim.taskId, commit: claim.commit, submitter: claim.submitter, metric: { name: claim.metricName, value: claim.metricValue } },
            verdict: { ...verdict, evidence: verdict.evidenceDigests },
            decidedAt: at.toISOString(),
          });
          expect(ours).toBe(service);
        },
      ),
    );
  });
});

describe('src/recheck imports only the pure libraries', () => {
  const dir = new URL('../../src/recheck/', import.meta.url);
  const ALLOWED = [/^node:(crypto|fs|os|path)$/, /^zod$/, /^\.\/[a-z0-9-]+\.ts$/, /^\.\.\/(log|attest|zk|verdict)\/[a-z0-9-]+\.ts$/];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    it(file, () => {
      const source = readFileSync(new URL(file, dir), 'utf8');
      for (const [, s] of source.matchAll(/^(?:import|export)[^'"]*from\s+'([^']+)'/gm)) {
        expect(ALLOWED.some((re) => re.test(s!)), `${file} imports ${s}`).toBe(true);
      }
    });
  }
});

describe('log-side checks', () => {
  const tree = new MemoryTree();
  for (let i = 0; i < 5; i++) tree.appendData(new TextEncoder().encode(`leaf ${i}`));
  const cp = (size: number, rootHash: Uint8Array): Checkpoint => ({ origin: 'o', size, rootHash, extensions: [] });
  const noFetch: Fetcher = { text: () => Promise.reject(new Error('no fetch')), json: () => Promise.reject(new Error('no fetch')) };

  it('names a split view and a rollback', async () => {
    const other = new MemoryTree();
    for (let i = 0; i < 5; i++) other.appendData(new TextEncoder().encode(`forged ${i}`));
    const split = await checkConsistency(noFetch, cp(5, tree.root()), cp(5, other.root()), 'A\n', 'B\n');
    expect(split).toMatchObject({ status: 'fail' });
    expect(split.detail).toMatch(/split view/);
    expect(split.detail).toContain('A\n');
    const rollback = await checkConsistency(noFetch, cp(5, tree.root()), cp(3, tree.root()), 'A\n', 'B\n');
    expect(rollback.detail).toMatch(/rollback/);
    expect((await checkConsistency(noFetch, cp(5, tree.root()), cp(5, tree.root()), 'A\n', 'A\n')).status).toBe('pass');
  });

  it('names a verifier key added after the fact, edited or removed', () => {
    const key = (id: string, registeredAt: string) => ({
      id,
      name: id,
      publicKey: 'ab'.repeat(32),
      tasks: ['t'],
      validFrom: registeredAt,
      validUntil: null,
      revokedAt: null,
      revocationReason: null,
      registeredAt,
    });
    const before = snapshotRegistry([key('a', '2026-01-01T00:00:00.000Z')]);
    const seen = '2026-06-01T00:00:00.000Z';
    expect(checkRegistryHistory([key('a', '2026-01-01T00:00:00.000Z'), key('b', '2026-07-01T00:00:00.000Z')], before, seen).status).toBe('pass');
    expect(checkRegistryHistory([key('a', '2026-01-01T00:00:00.000Z'), key('b', '2026-02-01T00:00:00.000Z')], before, seen).detail).toMatch(/b added after the fact/);
    expect(checkRegistryHistory([key('a', '2025-01-01T00:00:00.000Z')], before, seen).detail).toMatch(/edited/);
    expect(checkRegistryHistory([], before, seen).detail).toMatch(/vanished/);
  });
});
