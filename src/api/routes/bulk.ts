// Bulk reads of claim bundles (src/service/views/bulk-bundles.ts, docs/recheck.md): a task's verified claims, or the
// claims of a range of the log, as one streamed NDJSON answer with every inclusion proof against one checkpoint.
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppContext } from '../../service/context.ts';
import { logRangeBundleSource, taskBundleSource, type BulkLine } from '../../service/views/bulk-bundles.ts';
import { MAX_ENTRIES_PAGE } from '../../service/views/log-read.ts';
import { errorResponses, taskIdParam } from '../schemas.ts';

// As in routes/log.ts: canonical decimals below 10^15, so no odd spelling or huge number reaches the tree arithmetic.
const treeNumber = (name: string) =>
  z
    .string()
    .regex(/^(0|[1-9][0-9]{0,14})$/, `${name}: a non-negative decimal integer below 10^15`)
    .openapi({ param: { name, in: 'query' }, example: '0' })
    .transform(Number);

const ndjson = (description: string) => ({
  description: `${description}. NDJSON, one object a line: {kind:"head", checkpoint, treeSize, verifierKeys}, then {kind:"task", task, taskLeaves} before a task's first bundle (taskLeaves: the task's definition and circuit registration leaves with their proofs), {kind:"bundle", bundle:{claim, envelope, evidence, parent, log:{leaves}}} per claim, and last {kind:"end", bundles, skipped}. A bundle here plus its task, the head's verifierKeys, {checkpoint, treeSize} and the task's taskLeaves among its leaves is the claim's GET /v1/claims/{id}/bundle; every inclusion proof is against the head's checkpoint. Claims with a verdict logged after that checkpoint are listed in skipped (fetch them alone). No end line: the answer was cut short.`,
  content: { 'application/x-ndjson': { schema: z.string() } },
});

export function registerBulkRoutes(app: OpenAPIHono, ctx: AppContext) {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/tasks/{id}/bundles',
      summary: "The re-check bundles of every verified claim of a task (the leaderboard, uncapped), streamed",
      request: { params: taskIdParam },
      responses: { 200: ndjson('The bundles, best first'), ...errorResponses },
    }),
    // The source is built (and an unknown task refused with a 404) before the first byte is sent.
    async (c) => streamLines(await taskBundleSource(ctx, c.req.valid('param').id)) as never,
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/log/bundles',
      summary: `The re-check bundles of the claims named by log entries [start, end), at most ${MAX_ENTRIES_PAGE} entries, streamed`,
      request: { query: z.object({ start: treeNumber('start'), end: treeNumber('end') }) },
      responses: { 200: ndjson('The bundles, in log order'), ...errorResponses },
    }),
    async (c) => {
      const { start, end } = c.req.valid('query');
      return streamLines(await logRangeBundleSource(ctx, start, end)) as never;
    },
  );
}

/**
 * The lines as they are made, with back-pressure (pull). A fault after the first line cannot change the status any
 * more: the stream ends with an error line and without the end line, so a reader sees the answer is incomplete.
 */
function streamLines(source: () => AsyncGenerator<BulkLine>): Response {
  const lines = source();
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await lines.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(`${JSON.stringify(next.value)}\n`));
      } catch (e) {
        controller.enqueue(encoder.encode(`${JSON.stringify({ kind: 'error', message: 'the server failed while streaming; the answer is incomplete' })}\n`));
        controller.close();
        console.error('bulk bundles: stream failed', e);
      }
    },
    async cancel() {
      await lines.return(undefined);
    },
  });
  return new Response(stream, { status: 200, headers: { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' } });
}
