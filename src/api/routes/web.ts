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
import { ClaimListPage, SubmitterPage } from '../web/claim-list-page.tsx';
import { attestationCards } from '../../service/views/attestation-cards.ts';
import { logVerifierKey } from '../../service/views/log-read.ts';
import { claimListQuerySchema, getSubmitterRecord, listClaims, type ClaimListQuery } from '../../service/views/claim-list.ts';

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
      // The claims page's filter is a GET form to this origin; nothing posts from a page.
      formAction: ["'self'"],
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
      const page = await getClaimPage(ctx, id);
      const cards = await attestationCards(ctx, page.view.evidence);
      return await html(
        c,
        ClaimPageView({ page, origin: publicOrigin(ctx, c), witnesses: ctx.config.witnesses.map((w) => w.vkey), logKey: logVerifierKey(ctx), cards }),
      );
    } catch (e) {
      if (e instanceof ServiceError && e.code === 'unknown_claim') return notFound(c, 'There is no claim with this id.');
      throw e;
    }
  });

  app.get('/claims', async (c) => {
    const query = pageQuery(c);
    if (!query) return notFound(c, 'That filter is not one this page understands: a task id, a status, a 64-hex public key, a full commit hash.');
    return html(c, ClaimListPage({ ...(await listOrNull(ctx, query)), query, basePath: '/claims' }));
  });

  app.get('/submitters/:key', async (c) => {
    const key = c.req.param('key');
    if (!SUBMITTER_KEY.test(key)) return notFound(c, 'A submitter is named by its public key: 64 lowercase hex characters.');
    const record = await getSubmitterRecord(ctx, key);
    if (!record) return notFound(c, 'No claim was ever received from this key.');
    const query = pageQuery(c);
    if (!query) return notFound(c, 'That page of claims does not exist.');
    const own = { ...query, submitter: key };
    return html(c, SubmitterPage({ ...(await listOrNull(ctx, own)), query: own, basePath: `/submitters/${key}`, record }));
  });

  for (const a of [siteCss, siteJs]) app.get(a.path, (c) => serveAsset(c, a));
  app.get('/favicon.svg', (c) => serveAsset(c, { path: '/favicon.svg', body: FAVICON_SVG, type: 'image/svg+xml' }, 86400));

  // A route that does nothing, to measure the framework's own cost next to real routes (bench/load.ts).
  if (ctx.config.benchRoutes) app.get('/bench/bare', (c) => c.json({ ok: true }));

  // Registered last: any other page path (a typo, a trailing slash, /favicon.ico) is a person's browser, so it gets
  // the HTML page. API paths keep the JSON error a program expects.
  app.get('*', async (c) => {
    if (isApiPath(c.req.path)) return c.notFound();
    return notFound(c, `There is no page at ${c.req.path}.`);
  });
}

const SUBMITTER_KEY = /^[0-9a-f]{64}$/;

function isApiPath(path: string): boolean {
  return path.startsWith('/v1/') || path === '/v1' || path === '/openapi.json' || path === '/healthz' || path === '/metrics';
}

/** The list filters from the query string; empty fields (a form's blank inputs) are left out. Null when malformed. */
function pageQuery(c: Context): ClaimListQuery | null {
  const raw = Object.fromEntries(Object.entries(c.req.query()).filter(([, v]) => v !== ''));
  const parsed = claimListQuerySchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

/** A forged or stale cursor shows an empty page rather than an error: the filters above it still work. */
async function listOrNull(ctx: AppContext, query: ClaimListQuery) {
  try {
    return await listClaims(ctx, query);
  } catch (e) {
    if (e instanceof ServiceError && e.code === 'bad_request') return { claims: [], next: null };
    throw e;
  }
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
