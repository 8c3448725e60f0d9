// Request ids and one log line per request. The id comes from the client's x-request-id when it is a short token
// (so a caller can correlate), otherwise it is generated; it is echoed in the response either way.
import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../logger.ts';

// Only a short, plain token is accepted from the client: a long or odd id would let anyone forge or bloat log lines.
const CLIENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestLog(logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    const given = c.req.header('x-request-id');
    const id = given && CLIENT_ID.test(given) ? given : randomUUID();
    c.header('x-request-id', id);
    const start = process.hrtime.bigint();
    await next();
    c.res.headers.set('x-request-id', id);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const status = c.res.status;
    const line = { reqId: id, method: c.req.method, path: c.req.path, status, ms: Math.round(ms * 10) / 10 };
    if (status >= 500) logger.error(line, 'request failed');
    else logger.info(line, 'request');
  };
}
