// Lists of claims for people and scripts: by task, status, submitter and commit, a page at a time; and a submitter
// key's public record. Both are public, as the leaderboard is: a key's claims and reputation are what others judge it by.
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppContext } from '../../service/context.ts';
import { ServiceError } from '../../service/errors.ts';
import { claimListQuerySchema, getSubmitterRecord, listClaims } from '../../service/views/claim-list.ts';
import { anyJson, errorResponses, jsonOk } from '../schemas.ts';

const submitterParam = z.object({
  key: z.string().regex(/^[0-9a-f]{64}$/, 'submitter: a public key, 64 lowercase hex').openapi({ param: { name: 'key', in: 'path' } }),
});

export function registerClaimListRoutes(app: OpenAPIHono, ctx: AppContext) {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/claims',
      summary: 'Claims, newest first, filtered by task, status, submitter and commit; a page at a time',
      description:
        'Every filter is optional; `limit` is 1 to 200 (default 50). `next` is null on the last page; otherwise pass it ' +
        'back as `cursor` for the next page (the same filters must be given again). Pages are stable while claims arrive.',
      request: { query: claimListQuerySchema },
      responses: { 200: jsonOk(anyJson, '{ claims, next }'), ...errorResponses },
    }),
    async (c) => c.json(await listClaims(ctx, c.req.valid('query')), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/submitters/{key}',
      summary: "A submitter key's record: reputation, verified, rejected and disputed counts, ban",
      description: 'Its claims are `GET /v1/claims?submitter=KEY`.',
      request: { params: submitterParam },
      responses: { 200: jsonOk(anyJson, 'The record'), ...errorResponses },
    }),
    async (c) => {
      const record = await getSubmitterRecord(ctx, c.req.valid('param').key);
      if (!record) throw new ServiceError('not_found', 'no claim was ever received from this key');
      return c.json(record, 200);
    },
  );
}
