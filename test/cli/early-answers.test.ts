// The first answers the one-file recheck asks for before its checking code loads (src/cli/early-answers.ts), over
// node:http against a real server: each goes once to the request for exactly its URL and nothing else; a failed one
// is asked again; one nobody asks for is dropped by close(); a caller's time limit still holds; an endless early
// answer is still cut at the cap. Which paths are asked first, for each command line. That the engine does ask
// exactly these first is shown against a real proofboard server in test/e2e/recheck-one-file.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { firstRequests, withEarlyAnswers } from '../../src/cli/early-answers.ts';
import { apiFetcher, MAX_RESPONSE_BYTES } from '../../src/cli/http-client.ts';
import { nodeHttpFetch } from '../../src/cli/node-http-fetch.ts';
import { answerEndlessly } from '../helpers/http-server.ts';

const ID = 'ab'.repeat(32);
const ID2 = 'cd'.repeat(32);

let server: Server;
let url: string;
/** Requests the server received, as `METHOD path`. */
const seen: string[] = [];
/** Per path, what the next request gets; default: 200 with the path and its request number. */
const behaviour = new Map<string, (req: IncomingMessage, res: ServerResponse, n: number) => void>();
beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const n = seen.filter((s) => s === `${req.method} ${req.url}`).length;
    const custom = behaviour.get(req.url ?? '');
    if (custom) return custom(req, res, n);
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`${req.method} ${req.url} #${n}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const until = async (done: () => boolean) => {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(done()).toBe(true);
};

describe('which answers are asked for early', () => {
  it('the checkpoint and the first named bundles; the log key where none is pinned', () => {
    expect(firstRequests([ID, '--server', 'http://board.example', '--log-key', 'k'])).toEqual({
      server: 'http://board.example',
      paths: ['/v1/log/checkpoint', `/v1/claims/${ID}/bundle`],
    });
    expect(firstRequests([ID, ID2, '--server', 'http://board.example'])!.paths).toEqual(['/v1/log/key', '/v1/log/checkpoint', `/v1/claims/${ID}/bundle`, `/v1/claims/${ID2}/bundle`]);
    // Pinned witnesses: the checkpoint relied on is the cosigned one.
    expect(firstRequests([ID, '--log-key', 'k', '--witness', 'w'])!.paths).toEqual(['/v1/log/checkpoint/cosigned', `/v1/claims/${ID}/bundle`]);
    // No more bundles than the command asks for at once.
    expect(firstRequests([ID, ID2, '--log-key', 'k', '--concurrency', '1'])!.paths).toEqual(['/v1/log/checkpoint', `/v1/claims/${ID}/bundle`]);
  });

  it('nothing for a board, for help or for a command line the command will refuse', () => {
    for (const argv of [
      ['--task', 'digits-mlp', '--log-key', 'k'],
      ['--help'],
      [],
      ['not-a-claim-id'],
      [ID.toUpperCase()],
      [ID, '--no-such-option'],
      [ID, '--concurrency', '0'],
      [ID, '--concurrency', 'many'],
      [ID, '--server', 'not a url'],
    ]) {
      expect(firstRequests(argv), argv.join(' ')).toBeNull();
    }
  });
});

describe('early answers over node:http', () => {
  const http = () => nodeHttpFetch(MAX_RESPONSE_BYTES);

  it('hands each early answer once, to a GET of exactly its URL; everything else goes to the server', async () => {
    seen.length = 0;
    const early = withEarlyAnswers(http(), url, ['/a', '/b']);
    await until(() => seen.length === 2);
    const fetcher = apiFetcher(url, early.fetch);
    expect(await fetcher.text('/a')).toBe('GET /a #1');
    // The second read of the same path is a new request: an early answer is never handed out twice.
    expect(await fetcher.text('/a')).toBe('GET /a #2');
    expect(await fetcher.text('/c')).toBe('GET /c #1');
    // Not a GET, or a GET with headers of its own or following redirects: never an early answer.
    const read = async (init: RequestInit) => new TextDecoder().decode(await (await early.fetch(new URL('/b', url), init)).arrayBuffer());
    expect(await read({ method: 'POST', body: 'x' })).toBe('POST /b #1');
    expect(await read({ headers: { authorization: 'Bearer t' } })).toBe('GET /b #2');
    expect(await read({ redirect: 'follow' })).toBe('GET /b #3');
    // The early GET was the server's first of /b; its answer waited, unread, for recheck's own read.
    expect(await fetcher.text('/b')).toBe('GET /b #1');
    early.close();
    expect(seen.sort()).toEqual(['GET /a', 'GET /a', 'GET /b', 'GET /b', 'GET /b', 'GET /c', 'POST /b'].sort());
  });

  it('keeps the status and headers of a refusal', async () => {
    behaviour.set('/refused', (_req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not_found","message":"no"}}'));
    const early = withEarlyAnswers(http(), url, ['/refused']);
    await expect(apiFetcher(url, early.fetch).text('/refused')).rejects.toThrow(/404 not_found/);
    early.close();
  });

  it('refuses a redirect in an early answer, as in any other: the server checked is the one named', async () => {
    seen.length = 0;
    behaviour.set('/moved', (_req, res) => res.writeHead(302, { location: 'http://elsewhere.example/' }).end());
    const early = withEarlyAnswers(http(), url, ['/moved']);
    await expect(apiFetcher(url, early.fetch).text('/moved')).rejects.toThrow(/unreachable.*redirect refused/);
    // The early request was refused and asked once more, never followed elsewhere.
    expect(seen).toEqual(['GET /moved', 'GET /moved']);
    early.close();
  });

  it('asks again for an early answer that failed', async () => {
    seen.length = 0;
    // The first request's connection is cut before any answer; the second is answered.
    behaviour.set('/flaky', (req, res, n) => (n === 1 ? req.socket.destroy() : res.writeHead(200).end('second')));
    const early = withEarlyAnswers(http(), url, ['/flaky']);
    await until(() => seen.length === 1);
    expect(await apiFetcher(url, early.fetch).text('/flaky')).toBe('second');
    expect(seen).toEqual(['GET /flaky', 'GET /flaky']);
    early.close();
  });

  it("drops an answer nobody asked for, and the caller's time limit holds while one is awaited", async () => {
    const hung: ServerResponse[] = [];
    behaviour.set('/never', (_req, res) => void hung.push(res));
    const early = withEarlyAnswers(http(), url, ['/never']);
    await until(() => hung.length === 1);
    const limit = AbortSignal.timeout(50);
    await expect(early.fetch(new URL('/never', url), { signal: limit })).rejects.toThrow(/timeout|abort/i);
    const again = withEarlyAnswers(http(), url, ['/never']);
    await until(() => hung.length === 2);
    const closed = new Promise((r) => hung[1]!.on('close', r));
    again.close();
    // The connection is closed from our side: nothing is left holding the process.
    await closed;
    early.close();
    for (const res of hung) res.destroy();
  });

  it('cuts an endless early answer at the cap', async () => {
    behaviour.set('/endless', (_req, res) => answerEndlessly(res, 'text/plain'));
    const early = withEarlyAnswers(http(), url, ['/endless']);
    await expect(apiFetcher(url, early.fetch).text('/endless')).rejects.toThrow(/response_too_large/);
    early.close();
  }, 60_000);
});
