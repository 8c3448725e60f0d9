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
import { checkTaskPolicy, snapshotTask } from '../../src/recheck/task-history.ts';
import { toVerdictRecordBytes } from '../../src/service/storage/record-verdict.ts';
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
        fc.option(fc.nat()),
        (claim, verdict, at, entry) => {
          const service = new TextDecoder().decode(toVerdictRecordBytes(claim, verdict as never, at, entry));
          const ours = verdictRecordText({
            claim: { id: claim.id, task: claim.taskId, commit: claim.commit, submitter: claim.submitter, metric: { name: claim.metricName, value: claim.metricValue } },
            verdict: { ...verdict, evidence: verdict.evidenceDigests },
            decidedAt: at.toISOString(),
            taskDefinitionEntry: entry,
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
    expect(checkRegistryHistory([key('a', '2026-01-01T00:00:00.000Z'), key('b', '2026-07-01T00:00:00.000Z')], before, seen, new Date(seen)).status).toBe('pass');
    expect(checkRegistryHistory([key('a', '2026-01-01T00:00:00.000Z'), key('b', '2026-02-01T00:00:00.000Z')], before, seen, new Date(seen)).detail).toMatch(/b added after the fact/);
    expect(checkRegistryHistory([key('a', '2025-01-01T00:00:00.000Z')], before, seen, new Date(seen)).detail).toMatch(/edited/);
    expect(checkRegistryHistory([], before, seen, new Date(seen)).detail).toMatch(/vanished/);
  });

  it('names a revocation cleared, weakened or moved later, a validity extended after it ended, and new task trust', () => {
    const key = (over: Record<string, unknown> = {}) => ({
      id: 'a',
      name: 'a',
      publicKey: 'ab'.repeat(32),
      tasks: ['t'],
      validFrom: '2026-01-01T00:00:00.000Z',
      validUntil: null as string | null,
      revokedAt: null as string | null,
      revocationReason: null as string | null,
      registeredAt: '2026-01-01T00:00:00.000Z',
      ...over,
    });
    const seen = '2026-06-01T00:00:00.000Z';
    const now = new Date('2026-07-01T00:00:00.000Z');
    const check = (before: Record<string, unknown>, after: Record<string, unknown>) => checkRegistryHistory([key(after)], snapshotRegistry([key(before)]), seen, now);
    const compromised = { revokedAt: '2026-05-01T00:00:00.000Z', revocationReason: 'compromised' };
    const retired = { revokedAt: '2026-05-01T00:00:00.000Z', revocationReason: 'retired' };
    expect(check(compromised, {}).detail).toMatch(/revocation cleared: revoked compromised at 2026-05-01/);
    expect(check(compromised, retired).detail).toMatch(/weakened from compromised to retired/);
    expect(check(retired, { ...retired, revokedAt: '2026-06-15T00:00:00.000Z' }).detail).toMatch(/retirement moved later/);
    expect(check(retired, compromised).status).toBe('pass');
    expect(check({}, retired).status).toBe('pass');
    expect(check({ validUntil: '2026-06-01T00:00:00.000Z' }, { validUntil: null }).detail).toMatch(/extending a validity that had already ended/);
    expect(check({ validUntil: '2026-08-01T00:00:00.000Z' }, { validUntil: '2026-09-01T00:00:00.000Z' }).status).toBe('pass');
    expect(check({ validUntil: '2026-08-01T00:00:00.000Z' }, { validUntil: '2026-06-15T00:00:00.000Z' }).status).toBe('pass');
    expect(check({}, { validFrom: '2025-01-01T00:00:00.000Z' }).status).toBe('pass');
    expect(check({ validFrom: '2026-03-01T00:00:00.000Z' }, { validFrom: '2026-02-01T00:00:00.000Z' }).detail).toMatch(/validFrom/);
    expect(check({}, { tasks: ['t', 'u'] })).toMatchObject({ status: 'warn', detail: expect.stringMatching(/trusted for task\(s\) u/) });
    // A key moved to another operator splits one vote into two after the fact (issue 15, finding 4).
    expect(check({ operator: 'lab-a' }, { operator: 'lab-b' }).detail).toMatch(/edited: operator "lab-a" became "lab-b"/);
    expect(check({ operator: 'lab-a' }, { operator: 'lab-a' }).status).toBe('pass');
    // A server from before operators counts each key as its own, as migration 0003 names it: upgrading is no change.
    expect(check({}, { operator: 'key-a' }).status).toBe('pass');
  });

  it('reads a registry remembered before revocations, validity and tasks were kept, without a false alarm', () => {
    const k = { id: 'a', name: 'a', publicKey: 'ab'.repeat(32), tasks: ['t'], validFrom: '2026-01-01T00:00:00.000Z', validUntil: '2026-02-01T00:00:00.000Z', revokedAt: '2026-01-15T00:00:00.000Z', revocationReason: 'retired', registeredAt: '2026-01-01T00:00:00.000Z' };
    const old = { a: { publicKey: k.publicKey, validFrom: k.validFrom, registeredAt: k.registeredAt } };
    expect(checkRegistryHistory([k], old, '2026-06-01T00:00:00.000Z', new Date('2026-07-01T00:00:00.000Z')).status).toBe('pass');
  });

  it("names what changed in a task's policy", () => {
    const policy = { quorum: 2, direction: 'higher', tolerance: { absolute: 0 }, runs: 1 };
    const before = snapshotTask(policy, '2026-06-01T00:00:00.000Z');
    expect(checkTaskPolicy('t', { runs: 1, tolerance: { absolute: 0 }, direction: 'higher', quorum: 2 }, before).status).toBe('pass');
    expect(checkTaskPolicy('t', { ...policy, quorum: 1 }, before)).toMatchObject({ status: 'fail', detail: expect.stringMatching(/quorum 2 became 1/) });
    expect(checkTaskPolicy('t', policy, undefined).status).toBe('skip');
  });
});
