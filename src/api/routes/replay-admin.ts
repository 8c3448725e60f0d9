import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppContext } from '../../service/context.ts';
import {
  closeReplayJob,
  closeReplayJobSchema,
  listReplayJobs,
  listReplayJobsSchema,
  requeueReplayJob,
  toReplayJobJson,
} from '../../service/actions/replay-job-admin.ts';
import { requireOperator } from '../operator-auth.ts';
import { anyJson, errorResponses, jsonOk } from '../schemas.ts';

// Digits only, no sign, exponent, hex or padding (z.coerce.number would take "1e3", "0x10" and " 7"), and within the
// integers a double holds exactly, so the id looked up is the id written.
const jobIdParam = z.object({
  id: z
    .string()
    .regex(/^[1-9][0-9]{0,14}$/, 'replay job id: a positive integer')
    .transform(Number)
    .openapi({ param: { name: 'id', in: 'path' }, type: 'string', example: '42' }),
});
const operator = { kind: 'operator', name: 'token' } as const;
const PATH = '/v1/admin/replay-jobs';

export function registerReplayAdminRoutes(app: OpenAPIHono, ctx: AppContext) {
  // Lease owners and error texts of every worker are the operator's business, so even the list needs the token.
  app.use(PATH, requireOperator(ctx.config.operatorToken));
  app.use(`${PATH}/*`, requireOperator(ctx.config.operatorToken));

  app.openapi(
    createRoute({
      method: 'get',
      path: PATH,
      summary: 'Replay jobs by state, most recently changed first; parked (failed) ones by default (operator)',
      description:
        'A job is parked (`failed`) when its leases expired or failed too many times; it stays so, and its claim stays ' +
        'pending, until the operator requeues or closes it. `lastError` is the text a worker reported, unfiltered: ' +
        'display it escaped. `truncated` says that more jobs than `limit` matched.',
      security: [{ operator: [] }],
      request: { query: listReplayJobsSchema },
      responses: { 200: jsonOk(anyJson, '{ jobs, truncated }'), ...errorResponses },
    }),
    async (c) => {
      const { jobs, truncated } = await listReplayJobs(ctx, c.req.valid('query'));
      return c.json({ jobs: jobs.map(toReplayJobJson), truncated }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: `${PATH}/{id}/requeue`,
      summary: 'Put a parked or queued job back in the queue with its attempts reset (operator)',
      description: 'Refused (409 conflict) for a job under a live lease, a done job and a closed job.',
      security: [{ operator: [] }],
      request: { params: jobIdParam },
      responses: { 200: jsonOk(anyJson, '{ job }'), ...errorResponses },
    }),
    async (c) => c.json({ job: toReplayJobJson(await requeueReplayJob(ctx, operator, c.req.valid('param').id)) }, 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: `${PATH}/{id}/close`,
      summary: 'Give up on a parked or queued job; a pending claim is rejected as replay_abandoned (operator)',
      description:
        "A replay job's claim that is still pending gets a `rejected` verdict (reason code `replay_abandoned`, the rule " +
        "naming the operator's reason), logged like every verdict. An audit job's claim is left as it is. Refused (409 " +
        'conflict) for a job under a live lease, a done job and a closed job.',
      security: [{ operator: [] }],
      request: { params: jobIdParam, body: { required: true, content: { 'application/json': { schema: closeReplayJobSchema } } } },
      responses: { 200: jsonOk(anyJson, '{ job, verdict }: verdict is null when the claim was left as it was'), ...errorResponses },
    }),
    async (c) => {
      const { job, verdict } = await closeReplayJob(ctx, operator, c.req.valid('param').id, c.req.valid('json'));
      return c.json({ job: toReplayJobJson(job), verdict }, 200);
    },
  );
}
