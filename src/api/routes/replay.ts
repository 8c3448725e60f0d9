import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { Readable } from 'node:stream';
import { leaseResponseSchema, type LeasedJob } from '../../attest/worker-request.ts';
import type { AppContext } from '../../service/context.ts';
import { completeJob, failJob, heartbeatJob, leaseJob } from '../../service/actions/replay-jobs.ts';
import { addAttestation } from '../../service/actions/attestations.ts';
import { openPackFileForJob } from '../../service/actions/pack-files.ts';
import { anyJson, claimIdParam, errorResponses, jsonOk } from '../schemas.ts';

const jobIdParam = z.object({
  id: z.coerce.number().int().positive().max(2 ** 52).openapi({ param: { name: 'id', in: 'path' } }),
});
const packFileRef = z
  .string()
  .regex(/^sha256:[0-9a-f]{64}$/, 'file address: sha256:<64 lowercase hex>')
  .openapi({ param: { name: 'ref', in: 'path' } });
const signedRequest = z.object({ request: z.unknown() }).strict();
const body = <T extends z.ZodType>(schema: T) => ({ body: { required: true, content: { 'application/json': { schema } } } });

export function registerReplayRoutes(app: OpenAPIHono, ctx: AppContext) {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/replay/lease',
      summary: 'Lease the next replay job (signed worker request by a registered verifier key)',
      request: body(signedRequest),
      responses: { 200: jsonOk(leaseResponseSchema, 'A leased job, or {job: null} when the queue is empty'), ...errorResponses },
    }),
    async (c) => {
      // Typed by the documented schema: the service's job must be what the route promises and the worker parses.
      const job: LeasedJob | null = await leaseJob(ctx, c.req.valid('json').request);
      return c.json({ job }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/replay/jobs/{id}/heartbeat',
      summary: 'Extend a lease the worker still holds',
      request: { params: jobIdParam, ...body(signedRequest) },
      responses: { 200: jsonOk(anyJson, 'New lease expiry'), ...errorResponses },
    }),
    async (c) => c.json(await heartbeatJob(ctx, c.req.valid('param').id, c.req.valid('json').request), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/replay/jobs/{id}/complete',
      summary: "Finish a job with the worker's signed attestation of what the harness measured",
      request: { params: jobIdParam, ...body(z.object({ request: z.unknown(), attestation: z.unknown() }).strict()) },
      responses: { 200: jsonOk(anyJson, 'The outcome and the verdict it caused'), ...errorResponses },
    }),
    async (c) => {
      const { request, attestation } = c.req.valid('json');
      return c.json(await completeJob(ctx, c.req.valid('param').id, request, attestation), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/replay/jobs/{id}/fail',
      summary: 'Report a job that could not produce a result (signed: bad bundle, training failed, or infrastructure)',
      request: { params: jobIdParam, ...body(signedRequest) },
      responses: { 200: jsonOk(anyJson, 'The job state and the verdict it caused'), ...errorResponses },
    }),
    async (c) => c.json(await failJob(ctx, c.req.valid('param').id, c.req.valid('json').request), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/replay/jobs/{id}/pack-files/{ref}',
      summary: "Download one file of the leased job's task pack (signed `fetch` request naming the job and the file)",
      request: { params: jobIdParam.extend({ ref: packFileRef }), ...body(signedRequest) },
      responses: {
        200: { description: 'The bytes', content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } },
        ...errorResponses,
      },
    }),
    async (c) => {
      const { id, ref } = c.req.valid('param');
      const blob = await openPackFileForJob(ctx, id, ref.slice('sha256:'.length), c.req.valid('json').request);
      return new Response(Readable.toWeb(blob.stream) as ReadableStream, {
        status: 200,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
      }) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/claims/{id}/attestations',
      summary: 'Add a signed re-run attestation (DSSE, in-toto Statement v1) to a claim',
      request: { params: claimIdParam, ...body(z.object({ attestation: z.unknown() }).strict()) },
      responses: { 200: jsonOk(anyJson, "The claim's status after judging all its attestations"), ...errorResponses },
    }),
    async (c) => c.json(await addAttestation(ctx, c.req.valid('param').id, c.req.valid('json').attestation), 200),
  );
}
