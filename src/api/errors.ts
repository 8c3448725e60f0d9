// The one place that turns errors into HTTP responses. Every 4xx is { error: { code, message } } with a code from
// ERROR_STATUS; anything unexpected is a 500 with code "internal" and is logged, never echoed to the client.
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ServiceError, ERROR_STATUS, type ErrorCode } from '../service/errors.ts';
import { z } from 'zod';

export const errorBodySchema = z.object({
  error: z.object({
    code: z.enum([...(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]), 'internal']),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

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
  log(err);
  return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
}
