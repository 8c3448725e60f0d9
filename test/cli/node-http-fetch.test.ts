// The one-file recheck's fetch over node:http (src/cli/node-http-fetch.ts) under recheck's client: answers and
// streamed lines as with Node's fetch, a redirect refused (the server checked is the one named), an endless answer
// cut at the cap instead of read into memory.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { z } from 'zod';
import { apiFetcher, MAX_RESPONSE_BYTES } from '../../src/cli/http-client.ts';
import { nodeHttpFetch } from '../../src/cli/node-http-fetch.ts';
import { answerEndlessly } from '../helpers/http-server.ts';

let server: Server;
let url: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/json') return res.writeHead(200, { 'content-type': 'application/json' }).end('{"a":1}');
    if (req.url === '/lines') {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"n":1}\n{"n"');
      setTimeout(() => res.end(':2}\n'), 20);
      return;
    }
    if (req.url === '/redirect') return res.writeHead(302, { location: 'http://elsewhere.example/' }).end();
    if (req.url === '/refused') return res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not_found","message":"no"}}');
    if (req.url === '/endless') return answerEndlessly(res, 'application/json');
    res.writeHead(500).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('recheck over node:http', () => {
  const fetcher = () => apiFetcher(url, nodeHttpFetch(MAX_RESPONSE_BYTES));

  it('reads JSON answers and streamed lines', async () => {
    expect(await fetcher().json('/json', z.object({ a: z.number() }))).toEqual({ a: 1 });
    const lines: string[] = [];
    for await (const l of fetcher().lines!('/lines')) lines.push(l);
    expect(lines).toEqual(['{"n":1}', '{"n":2}']);
  });

  it('refuses a redirect and names a refusal with the server code', async () => {
    await expect(fetcher().text('/redirect')).rejects.toThrow(/unreachable.*redirect refused/);
    await expect(fetcher().text('/refused')).rejects.toThrow(/404 not_found/);
  });

  it('cuts an endless answer at the cap', async () => {
    await expect(fetcher().text('/endless')).rejects.toThrow(/response_too_large/);
  }, 30_000);
});
