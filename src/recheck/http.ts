// What a re-check reads from the server it checks: text or schema-checked JSON at an API path. The engine takes any
// Fetcher (tests pass fakes); the CLI's is apiFetcher in src/cli/http-client.ts, which size-caps and time-limits
// every answer, since the server being checked is not trusted to be well-behaved either. A Fetcher throws when it
// gets no usable answer, with a message that names the path.
import type { z } from 'zod';

export type Fetcher = {
  text(path: string): Promise<string>;
  json<T>(path: string, schema: z.ZodType<T>): Promise<T>;
  /**
   * The lines of a streamed NDJSON answer (the bulk reads), as they arrive, each size-capped. Optional: without it,
   * or when the server has no bulk reads, the engine fetches one bundle per claim.
   */
  lines?(path: string): AsyncIterable<string>;
};
