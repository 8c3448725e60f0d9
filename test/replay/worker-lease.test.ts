// The lease a worker receives is parsed against the schema the route documents (src/attest/worker-request.ts). A
// malformed lease is the server's fault: the worker logs it, waits and asks again; it never runs any of it and never
// crashes.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { leasedJobSchema } from '../../src/attest/worker-request.ts';
import { MalformedLeaseError, parseLease, runWorker } from '../../src/replay/worker.ts';
import { openApiDocument } from '../../scripts/api-docs.ts';
import { newKey } from '../helpers/claims.ts';

const lease = {
  jobId: 7,
  kind: 'replay',
  attempt: 1,
  leaseExpiresAt: '2026-12-07T10:00:00.000Z',
  claim: { id: 'a'.repeat(64), task: 'digits-mlp', commit: 'b'.repeat(40), parent: null, metric: { name: 'accuracy', value: 0.9 }, bundle: `sha256:${'c'.repeat(64)}` },
  task: { id: 'digits-mlp', policy: { runs: 1 }, replay: { harness: 'digits-mlp-v1' } },
};

describe('parseLease', () => {
  it('takes a lease, an empty queue, and fields a newer server adds', () => {
    expect(parseLease({ job: lease })).toEqual(lease);
    expect(parseLease({ job: null })).toBeNull();
    expect(parseLease({ job: { ...lease, queuedFor: 3 }, server: 'x' })).toEqual(lease);
  });

  it.each([
    ['no body', null, 'body'],
    ['no job field', {}, 'job'],
    ['a job id that is not a number', { job: { ...lease, jobId: '7' } }, 'job.jobId'],
    ['a commit that is not a git hash', { job: { ...lease, claim: { ...lease.claim, commit: '--upload-pack=sh' } } }, 'job.claim.commit'],
    ['a bundle that is not a digest', { job: { ...lease, claim: { ...lease.claim, bundle: '../../etc/passwd' } } }, 'job.claim.bundle'],
    ['an infinite metric', { job: { ...lease, claim: { ...lease.claim, metric: { name: 'accuracy', value: Infinity } } } }, 'job.claim.metric.value'],
  ])('refuses %s, naming the field', (_name, body, field) => {
    expect(() => parseLease(body)).toThrow(MalformedLeaseError);
    expect(() => parseLease(body)).toThrow(`(${field}:`);
  });
});

describe('a worker given malformed leases', () => {
  let server: Server | undefined;
  afterEach(async () => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  it('logs, backs off and asks again without running anything or crashing', async () => {
    const paths: string[] = [];
    server = createServer((req, res) => {
      paths.push(req.url ?? '');
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ job: { ...lease, claim: { ...lease.claim, commit: 'not a commit' } } }));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const controller = new AbortController();
    const lines: string[] = [];
    const log = (line: string) => {
      lines.push(line);
      if (lines.filter((l) => l.includes('malformed')).length >= 3) controller.abort();
    };
    const result = await runWorker({ server: url, secretKey: newKey().secretKey, pollMs: 20, signal: controller.signal, log });
    expect(result).toEqual({ jobs: 0 });
    expect(lines.filter((l) => l.includes('malformed'))).toHaveLength(3);
    expect(lines.find((l) => l.includes('malformed'))).toContain('job.claim.commit');
    // Only lease requests: no bundle was downloaded, no heartbeat or result was sent for the malformed job.
    expect(new Set(paths)).toEqual(new Set(['/v1/replay/lease']));
  });
});

describe('POST /v1/replay/lease in the OpenAPI document', () => {
  it('documents the lease schema the worker parses', async () => {
    const doc = await openApiDocument();
    const op = doc.paths['/v1/replay/lease']!.post!;
    const schema = op.responses!['200']!.content!['application/json']!.schema as { properties: { job: unknown } };
    const documented = JSON.stringify(schema.properties.job);
    for (const field of Object.keys(leasedJobSchema.shape)) expect(documented, field).toContain(`"${field}"`);
  });
});
