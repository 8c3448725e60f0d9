// The HTTP API. Handlers only validate, call one service function, and shape the answer; errors are mapped in
// src/api/errors.ts. /openapi.json is generated from the same zod schemas that validate requests.
import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { firstIssue } from '../attest/validation.ts';
import type { AppContext } from '../service/context.ts';
import { errorResponse, toErrorResponse } from './errors.ts';
import { registerClaimRoutes } from './routes/claims.ts';
import { registerTaskRoutes } from './routes/tasks.ts';
import { registerBlobRoutes } from './routes/blobs.ts';
import { registerVerifierKeyRoutes } from './routes/verifier-keys.ts';
import { registerReplayRoutes } from './routes/replay.ts';
import { registerReplayAdminRoutes } from './routes/replay-admin.ts';
import { registerWebRoutes, securityHeaders } from './routes/web.ts';
import { httpMetrics, metricsHandler } from './metrics.ts';
import { requestLog } from './request-log.ts';
import type { Logger } from '../logger.ts';
import { registerLogRoutes } from './routes/log.ts';
import { registerAuditTrailRoutes } from './routes/audit-trail.ts';
import { registerBulkRoutes } from './routes/bulk.ts';

export type AppOptions = { log?: (msg: string, err?: unknown) => void; logger?: Logger };
export type Api = OpenAPIHono;

export function createApp(ctx: AppContext, opts: AppOptions = {}): Api {
  const log = opts.log ?? ((msg, err) => console.error(msg, err));
  const app = new OpenAPIHono({
    // A request that fails its schema is a 400 with the first issue named, never a zod dump or a 500.
    defaultHook: (result, c) => {
      if (!result.success) {
        return errorResponse(c, 'bad_request', firstIssue(result.error, 'request'));
      }
    },
  });

  // Request id, log line and metrics wrap everything, so even a refused request is counted and traceable.
  if (opts.logger) app.use('*', requestLog(opts.logger));
  app.use('*', httpMetrics());
  app.use('*', securityHeaders());

  // Every JSON route has a body limit; blob uploads stream with their own, larger limit (routes/blobs.ts).
  const jsonLimit = bodyLimit({
    maxSize: ctx.config.maxBodyBytes,
    onError: (c) => errorResponse(c, 'body_too_large', `request body over ${ctx.config.maxBodyBytes} bytes`),
  });
  app.use('*', async (c, next) => (c.req.path.startsWith('/v1/blobs/') ? next() : jsonLimit(c, next)));
  // PostgreSQL text and jsonb cannot hold U+0000, and jsonb refuses an unpaired UTF-16 surrogate ("\ud800" is valid
  // JSON text but no Unicode character; I-JSON, RFC 7493 §2.1, forbids it): a body with either would pass validation
  // and fail at the insert, as a 500 (and, at intake, fail the whole batch of claims it was committed with). Refused
  // here, before any work, for every JSON route.
  app.use('*', async (c, next) => {
    if (c.req.method === 'GET' || !c.req.header('content-type')?.startsWith('application/json')) return next();
    const body: unknown = await c.req.json().catch(() => undefined);
    if (holdsUnstorableText(body)) {
      return errorResponse(c, 'bad_json', 'strings and keys may not contain U+0000 or an unpaired UTF-16 surrogate');
    }
    return next();
  });

  app.get('/healthz', async (c) => c.json({ ok: true, database: ctx.driver }));
  app.get('/metrics', metricsHandler(ctx));

  registerTaskRoutes(app, ctx);
  registerClaimRoutes(app, ctx);
  registerBlobRoutes(app, ctx);
  registerVerifierKeyRoutes(app, ctx);
  registerReplayRoutes(app, ctx);
  registerReplayAdminRoutes(app, ctx);
  registerAuditTrailRoutes(app, ctx);
  registerLogRoutes(app, ctx);
  registerBulkRoutes(app, ctx);

  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'proofboard',
      version: '0.1.0',
      description: 'Verifies research claims from an untrusted crowd. Every 4xx answers {error:{code,message}}.',
    },
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'operator', { type: 'http', scheme: 'bearer' });
  registerWebRoutes(app, ctx);

  app.notFound((c) => errorResponse(c, 'not_found', `no route ${c.req.method} ${c.req.path}`));
  app.onError((err, c) => toErrorResponse(err, c, (e) => log('request failed', e)));
  return app;
}

// U+0000, a high surrogate not followed by a low one, or a low surrogate not preceded by a high one.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * True when any string or key in a parsed JSON value holds what PostgreSQL cannot store: U+0000 or an unpaired
 * surrogate. Iterative: a body may nest a million deep.
 */
export function holdsUnstorableText(root: unknown): boolean {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === 'string') {
      if (UNSTORABLE.test(value)) return true;
    } else if (Array.isArray(value)) {
      for (const v of value) stack.push(v);
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if (UNSTORABLE.test(k)) return true;
        stack.push(v);
      }
    }
  }
  return false;
}
