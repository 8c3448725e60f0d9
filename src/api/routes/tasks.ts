import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppContext } from '../../service/context.ts';
import { createTask, createTaskSchema, getTask, listCircuits, listTasks, type TaskRow } from '../../service/actions/tasks.ts';
import { getLeaderboardJson } from '../../service/views/leaderboard.ts';
import { cachedRead, etagMatches, toJsonBody, type JsonBody } from '../../service/storage/read-cache.ts';
import { currentDifficulty } from '../../service/storage/stamps.ts';
import { submissionContractOf, toProblems } from '../../attest/task-pack.ts';
import { circuitRegistrationSchema } from '../../zk/circuit-build.ts';
import { registerTaskCircuit } from '../../service/actions/circuits.ts';
import { errorResponse } from '../errors.ts';
import { requireOperator } from '../operator-auth.ts';
import { anyJson, errorResponses, jsonOk, taskIdParam } from '../schemas.ts';

export function toTaskJson(t: TaskRow) {
  return {
    id: t.id,
    title: t.title,
    description: t.description,
    metricName: t.metricName,
    direction: t.direction,
    policy: t.policy,
    auditFraction: t.auditFraction,
    stampBaseBits: t.stampBaseBits,
    evalSetCommitment: t.evalSetCommitment,
    replay: t.replay,
    pack: t.pack,
    definitionLogIndex: t.definitionLogIndex,
    createdAt: t.createdAt.toISOString(),
  };
}

const notModified = { description: 'Not modified: If-None-Match names the current ETag (no body)' };

export function registerTaskRoutes(app: OpenAPIHono, ctx: AppContext) {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/tasks',
      summary: 'List tasks',
      responses: { 200: jsonOk(anyJson, 'The registered tasks'), 304: notModified },
    }),
    async (c) => sendJson(c, await cachedRead(ctx, 'tasks.json', async () => toJsonBody({ tasks: (await listTasks(ctx)).map(toTaskJson) }))),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/tasks/{id}',
      summary: 'One task, its policy and its circuits',
      request: { params: taskIdParam },
      responses: { 200: jsonOk(anyJson, 'The task'), ...errorResponses },
    }),
    async (c) => {
      const task = await getTask(ctx, c.req.valid('param').id);
      // With each circuit, what `proofboard prove --task` needs: the key (checked against its pin), the eval-set layout
      // and the build files by digest (GET /v1/blobs/{ref}).
      const circuits = (await listCircuits(ctx, task.id)).map((k) => ({
        id: k.id,
        protocol: k.protocol,
        vkeySha256: k.vkeySha256,
        vkey: k.vkey,
        params: k.params,
        build: k.build,
        logIndex: k.logIndex,
      }));
      // The difficulty a replay-bound claim must meet now; it moves with the queue, so clients read it before mining.
      const stamp = await currentDifficulty(ctx, task);
      // What a commit must contain and how it is run, so a submitter never reads server code to learn it.
      const contract = submissionContractOf(task);
      return c.json({ ...toTaskJson(task), circuits, stamp, contract }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/tasks/{id}/leaderboard',
      summary: 'Best verified claims first, in the direction of the task metric, with lineage',
      request: { params: taskIdParam },
      responses: { 200: jsonOk(anyJson, 'The leaderboard'), 304: notModified, ...errorResponses },
    }),
    async (c) => sendJson(c, await getLeaderboardJson(ctx, c.req.valid('param').id)),
  );

  app.use('/v1/tasks/:id/circuits', requireOperator(ctx.config.operatorToken));
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/tasks/{id}/circuits',
      summary: "Register a circuit for a task (operator): the key pinned by hash, the prover's files by digest",
      security: [{ operator: [] }],
      request: { params: taskIdParam, body: { required: true, content: { 'application/json': { schema: circuitRegistrationSchema } } } },
      responses: { 201: jsonOk(anyJson, 'The registered circuit and its log index'), ...errorResponses },
    }),
    async (c) => c.json(await registerTaskCircuit(ctx, { kind: 'operator', name: 'token' }, c.req.valid('param').id, c.req.valid('json')), 201),
  );

  app.use('/v1/tasks', async (c, next) =>
    c.req.method === 'POST' ? requireOperator(ctx.config.operatorToken)(c, next) : next(),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/tasks',
      summary: 'Register a task (operator)',
      security: [{ operator: [] }],
      request: { body: { required: true, content: { 'application/json': { schema: createTaskSchema } } } },
      responses: { 201: jsonOk(anyJson, 'The new task'), ...errorResponses },
    }),
    async (c) => {
      const task = await createTask(ctx, { kind: 'operator', name: 'token' }, c.req.valid('json'));
      return c.json(toTaskJson(task), 201);
    },
    // Every problem of a refused definition, not only the first: an operator fixes a pack in one round.
    (result, c) => {
      if (!result.success) {
        const problems = toProblems(result.error);
        // 400 as any malformed body (with the first problem in the message); a well-formed pack whose files the
        // server does not hold is refused later as 422 bad_task, with the same details.problems.
        const first = problems[0] ? `${problems[0].path || 'task'}: ${problems[0].message}` : 'invalid';
        return errorResponse(c, 'bad_request', `the task definition has ${problems.length} problem(s), first ${first}`, { problems }) as never;
      }
    },
  );
}

/**
 * A body serialized once per change (read-cache.ts), sent as is with its ETag; a client that already holds it
 * (If-None-Match) gets 304 and no body. no-cache: a client may keep the body but must ask again before using it.
 */
function sendJson(c: Context, json: JsonBody) {
  c.header('etag', json.etag);
  c.header('cache-control', 'no-cache');
  // Typed as the routes declare (200 JSON, or 304): the body is that JSON, serialized ahead of time.
  if (etagMatches(c.req.header('if-none-match'), json.etag)) return c.body(null, 304) as never;
  return c.body(json.body, 200, { 'content-type': 'application/json' }) as never;
}
