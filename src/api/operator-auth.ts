// Operator credentials: a bearer token compared in constant time, so response timing reveals no prefix of it.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { ServiceError } from '../service/errors.ts';

export function requireOperator(token: string | undefined): MiddlewareHandler {
  const expected = token ? createHash('sha256').update(token).digest() : null;
  return async (c, next) => {
    if (!expected) throw new ServiceError('forbidden', 'operator endpoints are disabled: no operator token is set');
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer (.+)$/.exec(header);
    // Hash both sides so the comparison is over equal lengths whatever the client sent.
    const given = createHash('sha256').update(match?.[1] ?? '').digest();
    if (!match || !timingSafeEqual(given, expected)) {
      throw new ServiceError('unauthorized', 'operator token required (Authorization: Bearer ...)');
    }
    c.set('operator' as never, 'operator' as never);
    await next();
  };
}
