// The first answers a re-check of named claims waits for, asked for before the checking code has loaded. A cold
// re-check of one entry otherwise loads its modules first (tens of milliseconds) and only then asks the server, which
// takes about as long again to answer: asked at the start, the two overlap (docs/recheck.md "Speed").
//
// Nothing changes in what is checked: each early answer goes, read in full, to the first request for exactly the
// same URL, as the answer that request would have had from the same server; every other request goes out as before.
// An early answer nobody asks for is dropped, and one that failed is asked for again.
import { parseArgs } from 'node:util';
import { CLAIM_ID, concurrencyOf, RECHECK_OPTIONS } from './recheck-options.ts';

/**
 * The API paths recheck asks first for this command line: the log key where none is pinned, the checkpoint (the
 * cosigned one where witnesses are pinned) and the bundles of the first named claims, `--concurrency` of them
 * (src/recheck/check-log.ts establishLog, src/recheck/recheck.ts). Null where it asks others first (--task) or does
 * not start (--help, a command line parseArgs refuses). Two cases ask for more than the command will: the log key
 * when the state file remembers it (reading the state would wait for the checking code), and any of these when the
 * command then refuses a malformed --log-key, --witness or --threads. Both are reads of public answers from the
 * server the command line names, and the unused ones are dropped.
 */
export function firstRequests(argv: string[]): { server: string; paths: string[] } | null {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: RECHECK_OPTIONS });
  } catch {
    return null;
  }
  const { values, positionals } = parsed;
  if (values.help || values.task !== undefined || positionals.length === 0 || !positionals.every((id) => CLAIM_ID.test(id))) return null;
  const concurrency = concurrencyOf(values.concurrency);
  if (concurrency === null || !URL.canParse(values.server)) return null;
  return {
    server: values.server,
    paths: [
      ...(values['log-key'] === undefined ? ['/v1/log/key'] : []),
      values.witness?.length ? '/v1/log/checkpoint/cosigned' : '/v1/log/checkpoint',
      ...positionals.slice(0, concurrency).map((id) => `/v1/claims/${id}/bundle`),
    ],
  };
}

type Early = { answer: Response } | { failed: unknown };

/**
 * A fetch that has already asked `fetchImpl` for each of `paths` on `server` (GET) and reads each answer in full as it
 * comes. close() drops the answers nobody asked for, so none keeps the process alive.
 */
export function withEarlyAnswers(fetchImpl: typeof fetch, server: string, paths: string[]): { fetch: typeof fetch; close(): void } {
  const stop = new AbortController();
  const early = new Map<string, Promise<Early>>();
  for (const path of paths) {
    const url = new URL(path, server);
    early.set(
      url.href,
      fetchImpl(url, { method: 'GET', redirect: 'error', signal: stop.signal })
        .then(async (res): Promise<Early> => ({ answer: readInFull(res, new Uint8Array(await res.arrayBuffer())) }))
        // Never a rejection left lying: an answer nobody asks for may fail, or be dropped by close(), unawaited.
        .catch((e: unknown) => ({ failed: e })),
    );
  }
  const earlyFetch = (async (input: URL | string, init: RequestInit = {}) => {
    const key = new URL(String(input)).href;
    const asked = asksAsEarly(init) ? early.get(key) : undefined;
    if (!asked) return fetchImpl(input, init);
    early.delete(key);
    const got = await untilAborted(asked, init.signal);
    // An early request that failed (the server not up yet, a dropped connection) is simply asked again.
    return 'answer' in got ? got.answer : fetchImpl(input, init);
  }) as typeof fetch;
  return {
    fetch: earlyFetch,
    close: () => {
      early.clear();
      stop.abort();
    },
  };
}

/**
 * Whether a request is one the early answers were asked as: a GET with no body, no headers of its own and redirects
 * refused (recheck's reads, src/cli/http-client.ts). Anything else goes to the server.
 */
function asksAsEarly(init: RequestInit): boolean {
  const headers = init.headers;
  // Only a plain empty object counts as none (a Headers instance lists no own keys whatever it holds; the global
  // Headers class is not named here, since touching it loads Node's whole fetch).
  const noHeaders = headers === undefined || (Object.getPrototypeOf(headers) === Object.prototype && Object.keys(headers).length === 0);
  return (init.method ?? 'GET') === 'GET' && init.body == null && noHeaders && (init.redirect ?? 'error') === 'error';
}

/** The answer, with its body already read: the same status and headers, the same bytes. */
function readInFull(res: Response, bytes: Uint8Array): Response {
  let unread = true;
  return {
    status: res.status,
    ok: res.ok,
    statusText: res.statusText,
    headers: res.headers,
    arrayBuffer: async () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
    body: {
      getReader: () => ({
        read: async () => {
          const first = unread;
          unread = false;
          return first ? { done: false, value: bytes } : { done: true, value: undefined };
        },
      }),
    },
  } as unknown as Response;
}

/** `promise`, unless the caller's signal (recheck's time limit) fires first: then its reason, as a fetch would throw. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | null | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
