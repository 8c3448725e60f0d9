import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppContext } from '../../service/context.ts';
import { createTask, createTaskSchema, getTask, listCircuits, listTasks, type TaskRow } from '../../service/tasks.ts';
import { getLeaderboard } from '../../service/leaderboard.ts';
import { currentDifficulty } from '../../service/stamps.ts';
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
    createdAt: t.createdAt.toISOString(),
  };
}

export function registerTaskRoutes(app: OpenAPIHono, ctx: AppContext) {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/tasks',
      summary: 'List tasks',
      responses: { 200: jsonOk(anyJson, 'The registered tasks') },
    }),
    async (c) => c.json({ tasks: (await listTasks(ctx)).map(toTaskJson) }, 200),
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
      const circuits = (await listCircuits(ctx, task.id)).map((k) => ({
        id: k.id,
        protocol: k.protocol,
        vkeySha256: k.vkeySha256,
      }));
      // The difficulty a replay-bound claim must meet now; it moves with the queue, so clients read it before mining.
      const stamp = await currentDifficulty(ctx, task);
      return c.json({ ...toTaskJson(task), circuits, stamp }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/tasks/{id}/leaderboard',
      summary: 'Best verified claims first, in the direction of the task metric, with lineage',
      request: { params: taskIdParam },
      responses: { 200: jsonOk(anyJson, 'The leaderboard'), ...errorResponses },
    }),
    async (c) => c.json(await getLeaderboard(ctx, c.req.valid('param').id), 200),
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
  );
}
