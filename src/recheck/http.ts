// A small client for the endpoints a re-check reads. Every answer is size-capped and time-limited: the server being
// checked is not trusted to be well-behaved either.
import type { z } from 'zod';
import { firstIssue } from '../attest/validation.ts';

export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
const TIMEOUT_MS = 30_000;

export class FetchError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

export type Fetcher = {
  text(path: string): Promise<string>;
  json<T>(path: string, schema: z.ZodType<T>): Promise<T>;
};

export function httpFetcher(server: string, fetchImpl: typeof fetch = fetch): Fetcher {
  async function text(path: string): Promise<string> {
    let res: Response;
    try {
      res = await fetchImpl(new URL(path, server), { signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'error' });
    } catch (e) {
      throw new FetchError(path, `request failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > MAX_RESPONSE_BYTES) throw new FetchError(path, `answer over ${MAX_RESPONSE_BYTES} bytes`);
    const body = await res.text();
    if (body.length > MAX_RESPONSE_BYTES) throw new FetchError(path, `answer over ${MAX_RESPONSE_BYTES} bytes`);
    if (!res.ok) throw new FetchError(path, `HTTP ${res.status}: ${body.slice(0, 200)}`);
    return body;
  }
  return {
    text,
    async json<T>(path: string, schema: z.ZodType<T>): Promise<T> {
      const body = await text(path);
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        throw new FetchError(path, 'answer is not JSON');
      }
      const checked = schema.safeParse(parsed);
      if (!checked.success) {
        throw new FetchError(path, `unexpected answer at ${firstIssue(checked.error, 'root')}`);
      }
      return checked.data;
    },
  };
}
