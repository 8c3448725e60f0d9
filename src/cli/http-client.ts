// The CLI's one HTTP client for the proofboard API: submit, attest, admin, recheck and recheck --replay all go through
// send(). Every failure is an ApiError with the HTTP status (0 when no answer came), a machine-readable code (the
// server's own, or http_error, bad_response, unreachable, response_too_large) and a message. Answers are size-capped
// before they are read: recheck talks to a server it does not trust to be well-behaved.
import type { z } from 'zod';
import { firstIssue } from '../attest/validation.ts';
import type { Fetcher } from '../recheck/http.ts';

/** The largest answer read as JSON or text; the API's answers, a claim bundle included, are far smaller. */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
/** How long recheck waits for one answer before it names the endpoint that did not answer. */
const RECHECK_TIMEOUT_MS = 30_000;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    /** The endpoint, where the caller's own message does not say which one it asked. */
    readonly path?: string,
  ) {
    super(`${path ? `${path}: ` : ''}${status ? `${status} ${code}` : code}: ${message}`);
  }
}

type SendOptions = {
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
  maxBytes?: number;
  /** Recheck refuses redirects: the server it checks is the one it names, not wherever that one points. */
  redirect?: RequestRedirect;
  fetchImpl?: typeof fetch;
  /** Put the path in error messages (recheck, downloads); the commands' own messages already say what they did. */
  namePath?: boolean;
};

type Answer = { status: number; ok: boolean; statusText: string; bytes: Uint8Array };

async function send(server: string, method: string, path: string, opts: SendOptions = {}): Promise<Answer> {
  const where = opts.namePath ? path : undefined;
  const { body } = opts;
  const isBytes = body instanceof Uint8Array;
  let res: Response;
  try {
    res = await (opts.fetchImpl ?? fetch)(new URL(path, server), {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': isBytes ? 'application/octet-stream' : 'application/json' }),
        ...opts.headers,
      },
      body: body === undefined ? undefined : isBytes ? (body as unknown as BodyInit) : JSON.stringify(body),
      redirect: opts.redirect ?? 'follow',
      ...(opts.timeoutMs ? { signal: AbortSignal.timeout(opts.timeoutMs) } : {}),
    });
  } catch (e) {
    throw new ApiError(0, 'unreachable', `${unreachableMessage(server, e)}`, {}, where);
  }
  const max = opts.maxBytes ?? MAX_RESPONSE_BYTES;
  // A declared length over the cap is refused before reading; an undeclared one is checked after.
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > max) throw new ApiError(res.status, 'response_too_large', `answer over ${max} bytes`, {}, where);
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (bytes.length > max) throw new ApiError(res.status, 'response_too_large', `answer over ${max} bytes`, {}, where);
  return { status: res.status, ok: res.ok, statusText: res.statusText, bytes };
}

/**
 * What a person needs when no answer came: which URL, why (undici hides the system error in `cause`), and where the
 * URL came from. main.ts exits 3 for it, apart from a refusal or a lie: nothing was decided, trying again may work.
 */
function unreachableMessage(server: string, e: unknown): string {
  const cause = (e as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const why =
    e instanceof Error && e.name === 'TimeoutError'
      ? 'no answer in time'
      : typeof cause?.code === 'string'
        ? cause.code
        : typeof cause?.message === 'string'
          ? cause.message
          : e instanceof Error
            ? e.message
            : String(e);
  return `cannot reach ${server} (${why}); is the server running? Name another with --server URL or PROOFBOARD_SERVER`;
}

/** The server's {error: {code, message, details}} when it sent one, else the start of whatever it sent. */
function refusal(answer: Answer, text: string, where?: string): ApiError {
  let err: { code?: unknown; message?: unknown; details?: unknown } | undefined;
  try {
    err = (JSON.parse(text) as { error?: typeof err } | null)?.error;
  } catch {
    err = undefined;
  }
  return new ApiError(
    answer.status,
    typeof err?.code === 'string' ? err.code : 'http_error',
    typeof err?.message === 'string' ? err.message : text.slice(0, 200) || answer.statusText,
    err?.details && typeof err.details === 'object' ? (err.details as Record<string, unknown>) : {},
    where,
  );
}

const textOf = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** A JSON request to the API; a refusal throws ApiError with the server's code. */
export async function apiRequest<T = unknown>(
  server: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T }> {
  const answer = await send(server, method, path, { body, headers });
  const text = textOf(answer.bytes);
  if (!answer.ok) throw refusal(answer, text);
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    throw new ApiError(answer.status, 'bad_response', text.slice(0, 200));
  }
  return { status: answer.status, body: json as T };
}

/** The bytes at `path` (a blob); `maxBytes` bounds what is read into memory. */
export async function apiDownload(server: string, path: string, maxBytes: number): Promise<Uint8Array> {
  const answer = await send(server, 'GET', path, { maxBytes, namePath: true });
  if (!answer.ok) throw refusal(answer, textOf(answer.bytes), path);
  return answer.bytes;
}

/** recheck's Fetcher (src/recheck/http.ts) over this client: time-limited, no redirects, errors name the endpoint. */
export function apiFetcher(server: string, fetchImpl: typeof fetch = fetch): Fetcher {
  async function get(path: string): Promise<{ status: number; text: string }> {
    const answer = await send(server, 'GET', path, { timeoutMs: RECHECK_TIMEOUT_MS, redirect: 'error', fetchImpl, namePath: true });
    const text = textOf(answer.bytes);
    if (!answer.ok) throw refusal(answer, text, path);
    return { status: answer.status, text };
  }
  return {
    text: async (path) => (await get(path)).text,
    lines: (path) => streamedLines(server, path, fetchImpl),
    async json<T>(path: string, schema: z.ZodType<T>): Promise<T> {
      const { status, text } = await get(path);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new ApiError(status, 'bad_response', 'answer is not JSON', {}, path);
      }
      const checked = schema.safeParse(parsed);
      if (!checked.success) throw new ApiError(status, 'bad_response', `unexpected answer at ${firstIssue(checked.error, 'root')}`, {}, path);
      return checked.data;
    },
  };
}

/** How long a streamed answer may stay silent before recheck gives up on it (the rest is fetched one by one). */
const STREAM_IDLE_MS = 30_000;

/**
 * The lines of a streamed NDJSON answer (recheck's bulk reads): each line capped at MAX_RESPONSE_BYTES and the
 * stream ended when it stays silent for STREAM_IDLE_MS, so a server that trickles or sends one endless line cannot
 * hold recheck or its memory. A refusal throws ApiError as the other reads do.
 */
async function* streamedLines(server: string, path: string, fetchImpl: typeof fetch): AsyncGenerator<string> {
  const abort = new AbortController();
  let idle = setTimeout(() => abort.abort(), STREAM_IDLE_MS);
  try {
    let res: Response;
    try {
      res = await fetchImpl(new URL(path, server), { redirect: 'error', signal: abort.signal });
    } catch (e) {
      throw new ApiError(0, 'unreachable', `request failed: ${e instanceof Error ? e.message : String(e)}`, {}, path);
    }
    if (!res.ok || !res.body) {
      const bytes = new Uint8Array(await res.arrayBuffer());
      throw refusal({ status: res.status, ok: res.ok, statusText: res.statusText, bytes }, textOf(bytes.subarray(0, 64 * 1024)), path);
    }
    const decoder = new TextDecoder();
    let buffered = '';
    const reader = res.body.getReader();
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        throw new ApiError(res.status, 'unreachable', `stream broke off: ${e instanceof Error ? e.message : String(e)}`, {}, path);
      }
      clearTimeout(idle);
      idle = setTimeout(() => abort.abort(), STREAM_IDLE_MS);
      if (chunk.done) break;
      buffered += decoder.decode(chunk.value, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        yield buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
      }
      if (buffered.length > MAX_RESPONSE_BYTES) throw new ApiError(res.status, 'response_too_large', `a line over ${MAX_RESPONSE_BYTES} bytes`, {}, path);
    }
    if (buffered) yield buffered;
  } finally {
    clearTimeout(idle);
    abort.abort();
  }
}
