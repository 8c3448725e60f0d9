import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { AppContext } from '../../service/context.ts';
import { submitClaim, submitClaimSchema } from '../../service/actions/submit-claim.ts';
import { getClaim, toClaimJson } from '../../service/views/read-claims.ts';
import { getClaimBundle } from '../../service/views/claim-bundle.ts';
import { anyJson, claimIdParam, errorResponses, jsonOk } from '../schemas.ts';
import { registerClaimListRoutes } from './claim-list.ts';

/** The peer address; X-Forwarded-For only when configured, since any client can write that header. */
export function clientAddress(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = c.req.header('x-forwarded-for')?.split(',')[0]?.trim();
    if (forwarded) return forwarded;
  }
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    // app.request() in tests has no socket.
    return 'local';
  }
}

export function registerClaimRoutes(app: OpenAPIHono, ctx: AppContext) {
  registerClaimListRoutes(app, ctx);
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/claims',
      summary: 'Submit a signed claim with its evidence',
      description:
        'The claim is a DSSE envelope (payloadType application/vnd.proofboard.claim.v1+json) signed by the ' +
        'submitter key named in its keyid. Idempotent: the same claim twice is one claim. Answers 200 with the ' +
        'verdict when the evidence settles it at once, 202 when it waits for attestations or replay. The bundle ' +
        'must be a git bundle with its whole history that holds the commit (422 bundle_not_git, bundle_incomplete, ' +
        'bundle_missing_commit, bundle_over_limits), and a named parent an ancestor of the commit in it that a stored, ' +
        'not rejected claim of the task names (422 parent_not_ancestor, unknown_parent).',
      request: { body: { required: true, content: { 'application/json': { schema: submitClaimSchema } } } },
      responses: {
        200: jsonOk(anyJson, 'Settled at once, or already known'),
        202: jsonOk(anyJson, 'Accepted, pending'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const result = await submitClaim(ctx, c.req.valid('json'), { address: clientAddress(c, ctx.config.trustProxy) });
      const body = {
        id: result.claimId,
        status: result.status,
        created: result.created,
        verdict: result.verdict,
        location: `/v1/claims/${result.claimId}`,
      };
      return c.json(body, result.status === 'pending' && result.created ? 202 : 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/claims/{id}',
      summary: 'A claim: status, verdict and its rule, evidence, replay state',
      request: { params: claimIdParam },
      responses: { 200: jsonOk(anyJson, 'The claim'), ...errorResponses },
    }),
    async (c) => c.json(toClaimJson(await getClaim(ctx, c.req.valid('param').id), ctx.now()), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/claims/{id}/bundle',
      summary: 'Everything a third party needs to re-check a claim on its own machine',
      request: { params: claimIdParam },
      responses: { 200: jsonOk(anyJson, 'The re-check bundle'), ...errorResponses },
    }),
    async (c) => c.json(await getClaimBundle(ctx, c.req.valid('param').id), 200),
  );
}
