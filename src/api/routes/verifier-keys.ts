import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppContext } from '../../service/context.ts';
import {
  addVerifierKey,
  addVerifierKeySchema,
  listVerifierKeys,
  revokeVerifierKey,
  revokeVerifierKeySchema,
  toVerifierKeyJson,
  updateVerifierKey,
  updateVerifierKeySchema,
} from '../../service/actions/verifier-keys.ts';
import { rejudgeAfterRevocation } from '../../service/actions/attestations.ts';
import { requireOperator } from '../operator-auth.ts';
import { anyJson, errorResponses, jsonOk } from '../schemas.ts';

const keyIdParam = z.object({
  id: z.string().regex(/^[0-9a-f]{32}$/, 'verifier key id: 32 lowercase hex').openapi({ param: { name: 'id', in: 'path' } }),
});
const operator = { kind: 'operator', name: 'token' } as const;

export function registerVerifierKeyRoutes(app: OpenAPIHono, ctx: AppContext) {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/verifier-keys',
      summary: 'The verifier trust registry (public: a third party re-checks attestations against it)',
      description:
        'Each key names its `operator`: a quorum counts distinct operators, so all keys of one operator are one vote. Keys registered before keys had operators show `key-<id>` (each its own operator, as they were counted before).',
      responses: { 200: jsonOk(anyJson, 'All verifier keys, revoked ones included') },
    }),
    async (c) => c.json({ keys: (await listVerifierKeys(ctx)).map(toVerifierKeyJson) }, 200),
  );

  app.use('/v1/verifier-keys', async (c, next) =>
    c.req.method === 'POST' ? requireOperator(ctx.config.operatorToken)(c, next) : next(),
  );
  app.use('/v1/verifier-keys/*', requireOperator(ctx.config.operatorToken));

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/verifier-keys',
      summary: 'Trust a verifier key for some tasks (operator)',
      description:
        'Every key belongs to an `operator` (required; lowercase letters, digits and `-`): who runs it. A quorum counts distinct operators, so register all keys of one lab under one operator id; and unless a task\'s policy says `selfAttestation: "allow"`, an operator\'s attestation does not count for a claim signed by one of its own verifier keys (a submitter key the registry does not list is not recognised). The operator is set once and cannot be changed. A public key can be registered once (409 `verifier_key_exists`).',
      security: [{ operator: [] }],
      request: { body: { required: true, content: { 'application/json': { schema: addVerifierKeySchema } } } },
      responses: { 201: jsonOk(anyJson, 'The new key'), ...errorResponses },
    }),
    async (c) => c.json(toVerifierKeyJson(await addVerifierKey(ctx, operator, c.req.valid('json'))), 201),
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/v1/verifier-keys/{id}',
      summary: 'Change a key: name, tasks, validity end (operator)',
      security: [{ operator: [] }],
      request: { params: keyIdParam, body: { required: true, content: { 'application/json': { schema: updateVerifierKeySchema } } } },
      responses: { 200: jsonOk(anyJson, 'The key'), ...errorResponses },
    }),
    async (c) =>
      c.json(toVerifierKeyJson(await updateVerifierKey(ctx, operator, c.req.valid('param').id, c.req.valid('json'))), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/verifier-keys/{id}/revoke',
      summary: 'Revoke a key as retired or compromised (operator); compromised re-judges what it signed',
      security: [{ operator: [] }],
      request: { params: keyIdParam, body: { required: true, content: { 'application/json': { schema: revokeVerifierKeySchema } } } },
      responses: { 200: jsonOk(anyJson, 'The revoked key'), ...errorResponses },
    }),
    async (c) =>
      c.json(
        toVerifierKeyJson(
          await revokeVerifierKey(ctx, operator, c.req.valid('param').id, c.req.valid('json'), (tx, key) => rejudgeAfterRevocation(ctx, tx, key)),
        ),
        200,
      ),
  );
}
