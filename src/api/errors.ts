// The one place that turns errors into HTTP responses. Every 4xx and 503 is { error: { code, message } } with a code
// from ERROR_STATUS; a database that cannot be reached is a 503 database_unavailable with Retry-After; anything
// unexpected is a 500 with code "internal" and is logged, never echoed to the client.
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { isDatabaseUnavailable } from '../../db/connection-errors.ts';
import { ServiceError, ERROR_STATUS, type ErrorCode } from '../service/errors.ts';
import { z } from 'zod';

export const errorBodySchema = z.object({
  error: z.object({
    code: z.enum([...(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]), 'internal']),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

/**
 * Seconds a client is asked to wait while the database is unreachable. A restart takes a few seconds, and the
 * service reconnects by itself on the first request after it (docs/operators.md, "Database restarts").
 */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

export function errorResponse(c: Context, code: ErrorCode, message: string, details?: Record<string, unknown>) {
  return c.json({ error: { code, message, ...(details ? { details } : {}) } }, ERROR_STATUS[code] as 400);
}

export function toErrorResponse(err: unknown, c: Context, log: (err: unknown) => void): Response {
  if (err instanceof ServiceError) {
    if (err.code === 'rate_limited' || err.code === 'pending_limit') {
      const retry = err.details?.retryAfterSeconds;
      if (typeof retry === 'number') c.header('Retry-After', String(Math.max(1, Math.ceil(retry))));
    }
    return errorResponse(c, err.code, err.message, err.details);
  }
  if (err instanceof HTTPException) {
    if (err.status === 413) return errorResponse(c, 'body_too_large', 'request body over the size limit');
    if (err.status === 400) return errorResponse(c, 'bad_json', err.message || 'malformed request body');
    if (err.status === 401) return errorResponse(c, 'unauthorized', err.message || 'unauthorized');
    if (err.status === 415) return errorResponse(c, 'unsupported_media_type', err.message);
  }
  // A lost connection fails every request that needed the database while it is down; each is a 503 in the request
  // log, and none is a fault of this request. Checked after HTTP errors, before the catch-all 500.
  if (isDatabaseUnavailable(err)) {
    c.header('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS));
    return errorResponse(c, 'database_unavailable', 'the database is unavailable; retry later');
  }
  log(err);
  return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
}
