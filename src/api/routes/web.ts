// The web page: server-rendered HTML over the same service functions as the JSON API, and its two static assets.
// No build step and no third-party origin: the Content-Security-Policy allows only this service's own files.
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import type { AppContext } from '../../service/context.ts';
import { ServiceError } from '../../service/errors.ts';
import { getClaimPage, getTaskPage, listTaskSummaries } from '../../service/views/task-page.ts';
import { FAVICON_SVG, siteCss, siteJs, type Asset } from '../web/assets.ts';
import { ClaimPageView } from '../web/claim-page.tsx';
import { LeaderboardPage } from '../web/leaderboard-page.tsx';
import { NotFoundPage } from '../web/not-found-page.tsx';
import { renderDocument } from '../web/render.ts';
import { TasksPage } from '../web/tasks-page.tsx';

const CLAIM_ID = /^[0-9a-f]{64}$/;
const TASK_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * Headers for every response. The CSP has no 'unsafe-inline': even if some untrusted text escaped JSX's escaping,
 * an injected <script> or style attribute would not run. frame-ancestors stops clickjacking of the pages.
 */
export function securityHeaders(): MiddlewareHandler {
  return secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'"],
      connectSrc: ["'self'"],
      baseUri: ["'none'"],
      formAction: ["'none'"],
      frameAncestors: ["'none'"],
    },
    referrerPolicy: 'no-referrer',
    crossOriginEmbedderPolicy: false,
  });
}

// Any Hono app (the OpenAPIHono of app.ts is one): these routes are pages, so they stay out of the OpenAPI document.
type App = Hono<any, any, any>;

export function registerWebRoutes(app: App, ctx: AppContext) {
  const html = async (c: Context, node: unknown, status: 200 | 404 = 200) => {
    c.header('cache-control', 'no-store');
    return c.html(await renderDocument(node), status);
  };
  const notFound = (c: Context, what: string) => html(c, NotFoundPage({ what }), 404);

  app.get('/', async (c) => html(c, TasksPage({ tasks: await listTaskSummaries(ctx) })));

  app.get('/tasks/:id', async (c) => {
    const id = c.req.param('id');
    if (!TASK_ID.test(id)) return notFound(c, 'No such task.');
    try {
      return await html(c, LeaderboardPage({ page: await getTaskPage(ctx, id), now: ctx.now() }));
    } catch (e) {
      if (e instanceof ServiceError && e.code === 'unknown_task') return notFound(c, `There is no task “${id}”.`);
      throw e;
    }
  });

  app.get('/claims/:id', async (c) => {
    const id = c.req.param('id');
    if (!CLAIM_ID.test(id)) return notFound(c, 'A claim id is 64 lowercase hex characters.');
    try {
      return await html(c, ClaimPageView({ page: await getClaimPage(ctx, id), origin: publicOrigin(ctx, c) }));
    } catch (e) {
      if (e instanceof ServiceError && e.code === 'unknown_claim') return notFound(c, 'There is no claim with this id.');
      throw e;
    }
  });

  for (const a of [siteCss, siteJs]) app.get(a.path, (c) => serveAsset(c, a));
  app.get('/favicon.svg', (c) => serveAsset(c, { path: '/favicon.svg', body: FAVICON_SVG, type: 'image/svg+xml' }, 86400));

  // A route that does nothing, to measure the framework's own cost next to real routes (bench/load.ts).
  if (ctx.config.benchRoutes) app.get('/bench/bare', (c) => c.json({ ok: true }));
}

function serveAsset(c: Context, a: Asset, maxAge = 31536000) {
  c.header('content-type', a.type);
  c.header('cache-control', `public, max-age=${maxAge}${maxAge > 86400 ? ', immutable' : ''}`);
  return c.body(a.body);
}

/**
 * The origin printed in the recheck command. PROOFBOARD_PUBLIC_URL when set; otherwise the request's own origin, which
 * comes from the Host header: it is only ever shown back to the same requester, escaped, and pages are not cached.
 */
function publicOrigin(ctx: AppContext, c: Context): string {
  if (ctx.config.publicUrl) return ctx.config.publicUrl;
  return new URL(c.req.url).origin;
}
