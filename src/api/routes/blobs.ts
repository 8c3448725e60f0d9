import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { Readable } from 'node:stream';
import type { AppContext } from '../../service/context.ts';
import { ServiceError } from '../../service/errors.ts';
import { uploadBlob } from '../../service/actions/upload-blob.ts';
import { uploadHiddenBlob } from '../../service/actions/pack-files.ts';
import { isHiddenBlob } from '../../service/storage/pack-files.ts';
import { requireOperator } from '../operator-auth.ts';
import { anyJson, errorResponses, jsonOk } from '../schemas.ts';

const blobRefParam = z.object({
  ref: z
    .string()
    .regex(/^sha256:[0-9a-f]{64}$/, 'blob address: sha256:<64 lowercase hex>')
    .openapi({ param: { name: 'ref', in: 'path' }, example: `sha256:${'0'.repeat(64)}` }),
});

/**
 * The body of a blob upload as a stream. Refused early on the declared length; the store enforces the limit again on
 * the bytes actually sent, since a client can declare anything.
 */
function uploadStream(c: Context, ctx: AppContext): Readable {
  const declared = c.req.header('content-length');
  if (declared !== undefined && Number(declared) > ctx.config.maxBlobBytes) {
    throw new ServiceError('blob_too_large', `blob over the limit of ${ctx.config.maxBlobBytes} bytes`);
  }
  const body = c.req.raw.body;
  if (!body) throw new ServiceError('bad_request', 'empty body');
  return Readable.fromWeb(body as never);
}

export function registerBlobRoutes(app: OpenAPIHono, ctx: AppContext) {
  app.openapi(
    createRoute({
      method: 'put',
      path: '/v1/blobs/{ref}',
      summary: 'Upload a content-addressed blob (a git bundle); the server recomputes the digest',
      request: {
        params: blobRefParam,
        body: { required: true, content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } },
      },
      responses: {
        201: jsonOk(anyJson, 'Stored'),
        200: jsonOk(anyJson, 'Already stored'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const sha256 = c.req.valid('param').ref.slice('sha256:'.length);
      const result = await uploadBlob(ctx, sha256, uploadStream(c, ctx));
      return c.json({ ref: `sha256:${result.sha256}`, size: result.size }, result.created ? 201 : 200);
    },
  );

  app.use('/v1/blobs/hidden/*', requireOperator(ctx.config.operatorToken));
  app.openapi(
    createRoute({
      method: 'put',
      path: '/v1/blobs/hidden/{ref}',
      summary: "Upload a hidden blob (operator): a task pack's evaluation data, never served by GET /v1/blobs/{ref}",
      security: [{ operator: [] }],
      request: {
        params: blobRefParam,
        body: { required: true, content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } },
      },
      responses: { 201: jsonOk(anyJson, 'Stored'), 200: jsonOk(anyJson, 'Already stored'), ...errorResponses },
    }),
    async (c) => {
      const sha256 = c.req.valid('param').ref.slice('sha256:'.length);
      const result = await uploadHiddenBlob(ctx, { kind: 'operator', name: 'token' }, sha256, uploadStream(c, ctx));
      return c.json({ ref: `sha256:${result.sha256}`, size: result.size, hidden: true }, result.created ? 201 : 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/blobs/{ref}',
      summary: 'Download a blob by its digest',
      request: { params: blobRefParam },
      responses: {
        200: { description: 'The bytes', content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } },
        ...errorResponses,
      },
    }),
    async (c) => {
      const sha256 = c.req.valid('param').ref.slice('sha256:'.length);
      // A task pack's evaluation data stays hidden: a training script that fetched it could fit the test set.
      if (await isHiddenBlob(ctx, sha256)) throw new ServiceError('not_found', `no public blob sha256:${sha256}`);
      const blob = await ctx.blobs.open(sha256);
      if (!blob) throw new ServiceError('unknown_blob', `no blob sha256:${sha256}`);
      return new Response(Readable.toWeb(blob.stream) as ReadableStream, {
        status: 200,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
      }) as never;
    },
  );
}
