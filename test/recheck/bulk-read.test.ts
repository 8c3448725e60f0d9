// readBulkBundles (src/recheck/bulk.ts): a bulk answer's lines rebuild claim bundles, and whatever is wrong with the
// answer (cut short, a malformed line, no head, a server without bulk reads) only costs the bundles it did not deliver,
// each named in one bulk.read check, never a bundle taken on the format's word.
import { describe, expect, it } from 'vitest';
import { readBulkBundles } from '../../src/recheck/bulk.ts';
import type { ClaimBundle } from '../../src/recheck/bundle.ts';

const head = { kind: 'head', checkpoint: 'origin\n3\nroot=\n\n— sig\n', treeSize: 3, verifierKeys: [] };
const task = { kind: 'task', task: { id: 'digits-mlp', metricName: 'correct', direction: 'higher', policy: {}, circuits: [] } };
const bundle = (n: number) => ({
  kind: 'bundle',
  bundle: {
    claim: {
      id: n.toString(16).padStart(64, '0'),
      task: 'digits-mlp',
      commit: 'c'.repeat(40),
      parent: null,
      beatsParent: false,
      metric: { name: 'correct', value: n },
      submitter: 'a'.repeat(64),
      status: 'verified',
      method: 'zk',
      receivedAt: '2026-12-07T00:00:00.000Z',
      history: [],
    },
    envelope: {},
    intake: null,
    evidence: [],
    parent: null,
    log: { leaves: [{ index: n, data: '{}', inclusionProof: [] }] },
  },
});
const end = (n: number) => ({ kind: 'end', bundles: n, skipped: [] });

async function read(lines: (object | string)[], failWith?: Error) {
  async function* source() {
    for (const l of lines) yield typeof l === 'string' ? l : JSON.stringify(l);
    if (failWith) throw failWith;
  }
  const got: ClaimBundle[] = [];
  const check = await readBulkBundles(source(), async (b) => void got.push(b));
  return { check, got };
}

describe('reading a bulk answer', () => {
  it('rebuilds each bundle with the head and its task, and passes a complete answer', async () => {
    const { check, got } = await read([head, task, bundle(1), bundle(2), end(2)]);
    expect(check).toMatchObject({ id: 'bulk.read', status: 'pass' });
    expect(got.map((b) => b.claim.metric.value)).toEqual([1, 2]);
    expect(got[0]!.log).toEqual({ checkpoint: head.checkpoint, treeSize: 3, leaves: [{ index: 1, data: '{}', inclusionProof: [] }] });
    expect(got[0]!.task.id).toBe('digits-mlp');
    expect(got[0]!.verifierKeys).toEqual([]);
  });

  it('an answer cut short keeps what it delivered and says so', async () => {
    const { check, got } = await read([head, task, bundle(1)]);
    expect(check.status).toBe('warn');
    expect(check.detail).toMatch(/cut short.*fetched one by one/);
    expect(got).toHaveLength(1);
  });

  it('a malformed line, or a bundle of a task never sent, is skipped and counted', async () => {
    const orphan = bundle(3);
    orphan.bundle.claim.task = 'other-task';
    const { check, got } = await read([head, task, '{not json', bundle(1), orphan, { kind: 'surprise' }, end(1)]);
    expect(check.status).toBe('warn');
    expect(check.detail).toMatch(/3 malformed line\(s\) skipped/);
    expect(got.map((b) => b.claim.metric.value)).toEqual([1]);
  });

  it('an answer that does not start with its head delivers nothing', async () => {
    const { check, got } = await read([task, bundle(1), end(1)]);
    expect(check).toMatchObject({ status: 'warn' });
    expect(got).toEqual([]);
  });

  it('lines after the end line are ignored', async () => {
    const { check, got } = await read([head, task, bundle(1), end(1), bundle(2)]);
    expect(check.status).toBe('warn');
    expect(got).toHaveLength(1);
  });

  it('a server without bulk reads (404) is a skip; a stream that breaks is a warn', async () => {
    expect((await read([], new Error('/v1/tasks/t/bundles: 404 not_found: no route'))).check.status).toBe('skip');
    const broken = await read([head, task, bundle(1)], new Error('/v1/tasks/t/bundles: unreachable: stream broke off'));
    expect(broken.check.status).toBe('warn');
    expect(broken.check.detail).toMatch(/failed after 1 bundle/);
    expect(broken.got).toHaveLength(1);
  });
});
