// GET /v1/admin/audit: the audit trail an operator reads back (every task, circuit, trust and replay-job action, with
// who did it and when), written in the same transaction as each change.
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppContext } from '../../service/context.ts';
import { auditQuerySchema, listAuditTrail } from '../../service/views/audit-trail-read.ts';
import { requireOperator } from '../operator-auth.ts';
import { anyJson, errorResponses, jsonOk } from '../schemas.ts';

const PATH = '/v1/admin/audit';

export function registerAuditTrailRoutes(app: OpenAPIHono, ctx: AppContext) {
  app.use(PATH, requireOperator(ctx.config.operatorToken));
  app.openapi(
    createRoute({
      method: 'get',
      path: PATH,
      summary: 'The audit trail of operator actions, newest first (operator)',
      description:
        '`action` filters by action (`verifier_key.revoke`) or family (`verifier_key`), `target` by what was acted on ' +
        '(`verifier_key:<id>`, `task:<id>`). `next` is null on the last page; otherwise pass it back as `before`.',
      security: [{ operator: [] }],
      request: { query: auditQuerySchema },
      responses: { 200: jsonOk(anyJson, '{ entries, next }'), ...errorResponses },
    }),
    async (c) => c.json(await listAuditTrail(ctx, c.req.valid('query')), 200),
  );
}
