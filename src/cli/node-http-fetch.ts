// The part of fetch that recheck's HTTP client uses (src/cli/http-client.ts: status, headers.get, arrayBuffer, a body
// reader), over node:http and node:https. The one-file recheck uses it because Node's own fetch (undici) costs 50 to
// 120 ms to load in a fresh process on a loaded two-core machine, against 10 to 20 ms for node:http: most of a cold
// re-check of one entry. Redirects are refused, as recheck asks (the server checked is the one named), and an answer
// is read to at most `maxBytes` + 1 bytes, so an endless one cannot fill memory (http-client.ts then refuses it).
import { request as httpRequest, type IncomingMessage } from 'node:http';

export function nodeHttpFetch(maxBytes: number): typeof fetch {
  return (async (input: URL | string, init: RequestInit = {}) => {
    const url = new URL(String(input));
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`unsupported protocol ${url.protocol}`);
    // node:https is loaded only for an https server: it brings all of TLS (about 5 ms of a cold start).
    const request = url.protocol === 'https:' ? (await import('node:https')).request : httpRequest;
    return new Promise<Response>((resolve, reject) => {
      const req = request(
        url,
        { method: init.method ?? 'GET', headers: init.headers as Record<string, string> | undefined, ...(init.signal ? { signal: init.signal } : {}) },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 300 && status < 400) {
            res.resume();
            return reject(new TypeError(`redirect refused (${status} to ${String(res.headers.location)})`));
          }
          resolve(toResponse(res, maxBytes));
        },
      );
      req.on('error', reject);
      if (typeof init.body === 'string' || init.body instanceof Uint8Array) req.write(init.body);
      req.end();
    });
  }) as typeof fetch;
}

function toResponse(res: IncomingMessage, maxBytes: number): Response {
  const status = res.statusCode ?? 0;
  const chunks = res[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  return {
    status,
    ok: status >= 200 && status < 300,
    statusText: res.statusMessage ?? '',
    headers: {
      get(name: string) {
        const v = res.headers[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(', ') : String(v);
      },
    },
    async arrayBuffer() {
      const parts: Buffer[] = [];
      let size = 0;
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
        parts.push(next.value);
        size += next.value.length;
        if (size > maxBytes) {
          res.destroy();
          break;
        }
      }
      const all = Buffer.concat(parts);
      return all.buffer.slice(all.byteOffset, all.byteOffset + all.length);
    },
    body: {
      getReader: () => ({
        read: async () => {
          const next = await chunks.next();
          return next.done ? { done: true, value: undefined } : { done: false, value: new Uint8Array(next.value) };
        },
      }),
    },
  } as unknown as Response;
}
