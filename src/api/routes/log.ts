// Transparency log endpoints (docs/transparency-log.md): the signed checkpoint, entries, inclusion and consistency
// proofs, the log key. Hashes are base64 (RFC 4648 §4), as in the checkpoint.
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { toBase64 } from '../../attest/bytes.ts';
import type { AppContext } from '../../service/context.ts';
import {
  consistencyProof,
  inclusionProof,
  latestCheckpoint,
  latestCosignedCheckpoint,
  listEntries,
  logVerifierKey,
  MAX_ENTRIES_PAGE,
} from '../../service/views/log-read.ts';
import { ServiceError } from '../../service/errors.ts';
import { anyJson, errorResponses, jsonOk } from '../schemas.ts';

// Canonical decimal, at most 15 digits (below 2^53): "007", "1e3", "-1" or a 400-digit number never reach the tree
// arithmetic, which would otherwise throw (a 500) or loop on a huge value.
const treeNumber = (name: string) =>
  z
    .string()
    .regex(/^(0|[1-9][0-9]{0,14})$/, `${name}: a non-negative decimal integer below 10^15`)
    .openapi({ param: { name, in: 'query' }, example: '0' })
    .transform(Number);

const entriesQuery = z.object({ start: treeNumber('start'), end: treeNumber('end') });
const inclusionQuery = z.object({ index: treeNumber('index'), size: treeNumber('size') });
const consistencyQuery = z.object({ from: treeNumber('from'), to: treeNumber('to') });

const b64 = (hashes: readonly Uint8Array[]) => hashes.map(toBase64);

export function registerLogRoutes(app: OpenAPIHono, ctx: AppContext) {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/log/checkpoint',
      summary: 'The latest signed checkpoint (C2SP tlog-checkpoint signed note, text/plain), with the witness cosignatures gathered so far',
      responses: { 200: { description: 'Signed note', content: { 'text/plain': { schema: z.string() } } } },
    }),
    async (c) => {
      const checkpoint = await latestCheckpoint(ctx);
      c.header('cache-control', 'no-store');
      return c.text(checkpoint.note, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/log/checkpoint/cosigned',
      summary:
        'The latest checkpoint carrying witness cosignatures (C2SP tlog-cosignature lines after the log signature, ' +
        'text/plain); recheck --witness reads this one',
      responses: {
        200: { description: 'Signed note with cosignature lines', content: { 'text/plain': { schema: z.string() } } },
        404: errorResponses[404],
      },
    }),
    async (c) => {
      const checkpoint = await latestCosignedCheckpoint(ctx);
      if (!checkpoint) throw new ServiceError('not_found', 'no checkpoint has been cosigned by a witness yet');
      c.header('cache-control', 'no-store');
      return c.text(checkpoint.note, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/log/key',
      summary: 'The log verifier key (C2SP signed-note vkey); pin it from a source other than this server',
      responses: { 200: jsonOk(anyJson, '{ origin, vkey }') },
    }),
    async (c) => c.json({ origin: ctx.logSigner.origin, vkey: logVerifierKey(ctx) }, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/log/entries',
      summary: `Log entries [start, end), at most ${MAX_ENTRIES_PAGE} per page; clamped to the log size`,
      request: { query: entriesQuery },
      responses: { 200: jsonOk(anyJson, '{ size, entries: [{ index, claimId, data }] }'), ...errorResponses },
    }),
    async (c) => {
      const { start, end } = c.req.valid('query');
      return c.json(await listEntries(ctx, start, end), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/log/proof/inclusion',
      summary: 'Inclusion proof of entry `index` in the tree of `size` entries (RFC 6962 §2.1.1)',
      request: { query: inclusionQuery },
      responses: { 200: jsonOk(anyJson, '{ index, size, proof: [base64] }'), ...errorResponses },
    }),
    async (c) => {
      const { index, size } = c.req.valid('query');
      return c.json({ index, size, proof: b64(await inclusionProof(ctx, index, size)) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/log/proof/consistency',
      summary: 'Consistency proof from the tree of `from` entries to the tree of `to` entries (RFC 6962 §2.1.2)',
      request: { query: consistencyQuery },
      responses: { 200: jsonOk(anyJson, '{ from, to, proof: [base64] }'), ...errorResponses },
    }),
    async (c) => {
      const { from, to } = c.req.valid('query');
      return c.json({ from, to, proof: b64(await consistencyProof(ctx, from, to)) }, 200);
    },
  );
}
