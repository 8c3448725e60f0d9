// A finished job survives a server that cannot be reached at the moment the worker reports it: the worker retries
// the signed result (signed afresh each time) instead of dropping a finished GPU job. A proxy in front of the real
// app cuts the first `complete` connections without an answer, as a restarting server would.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { runWorker } from '../../src/replay/worker.ts';
import { makeTestContext, OPERATOR_TOKEN } from '../helpers/context.ts';
import { newKey } from '../helpers/claims.ts';
import { serveApp } from '../helpers/http-server.ts';
import { hostScore, makeDigitsRepo } from '../helpers/digits-repo.ts';
import { describeSandbox } from './sandbox-gate.ts';
import { readClaim, registerReplayTask, submitReplayClaim, trustVerifier } from './replay-http.ts';

const CUT = 2;

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describeSandbox('worker result retries', () => {
  let app: { url: string; close: () => Promise<void> };
  let proxy: Server;
  let proxyUrl = '';
  let closeContext: () => Promise<void> = async () => {};
  let cut = 0;
  const repo = makeDigitsRepo();

  beforeAll(async () => {
    const t = await makeTestContext('pglite');
    closeContext = t.close;
    app = await serveApp(createApp(t.ctx, { log: (m, e) => console.error(m, e) }));
    proxy = createServer(async (req, res) => {
      if (req.url?.endsWith('/complete') && cut < CUT) {
        cut += 1;
        req.socket.destroy();
        return;
      }
      const data = await body(req);
      const upstream = await fetch(new URL(req.url!, app.url), {
        method: req.method!,
        headers: { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' },
        ...(data.length > 0 ? { body: new Uint8Array(data) } : {}),
      });
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream' });
      res.end(Buffer.from(await upstream.arrayBuffer()));
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => proxy?.close(r));
    await app?.close();
    await closeContext();
    repo.cleanup();
  });

  it('retries a result that got no answer, and the claim is verified once', async () => {
    const worker = newKey();
    await registerReplayTask(app.url, OPERATOR_TOKEN, 'retry-digits', ['/usr/bin/python3', '/input/train.py', '--seed', '{seed}', '--out', '/work/model.json']);
    await trustVerifier(app.url, OPERATOR_TOKEN, worker, ['retry-digits']);
    const id = await submitReplayClaim(app.url, newKey(), { task: 'retry-digits', commit: repo.commit, bundle: repo.bundle, value: hostScore(repo.dir) });
    const lines: string[] = [];
    const { jobs } = await runWorker({ server: proxyUrl, secretKey: worker.secretKey, once: true, log: (l) => lines.push(l) });
    expect(jobs).toBe(1);
    expect(cut).toBe(CUT);
    expect(lines.filter((l) => l.includes('server unavailable'))).toHaveLength(CUT);
    const view = await readClaim(app.url, id);
    expect(view, lines.join('\n')).toMatchObject({ status: 'verified', method: 'replayed' });
    expect(view.history).toHaveLength(1);
    expect(view.evidence.filter((e) => e.kind === 'attestation')).toHaveLength(1);
    expect(view.replay).toEqual([expect.objectContaining({ state: 'done', attempts: 1 })]);
  });
});
