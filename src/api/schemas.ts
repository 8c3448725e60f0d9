// Response and parameter schemas shared by the route files (request schemas live beside their service verbs).
import { z } from '@hono/zod-openapi';
import { errorBodySchema } from './errors.ts';

export const errorResponses = {
  400: { description: 'Malformed input', content: { 'application/json': { schema: errorBodySchema } } },
  401: { description: 'Bad signature or credentials', content: { 'application/json': { schema: errorBodySchema } } },
  403: { description: 'Forbidden', content: { 'application/json': { schema: errorBodySchema } } },
  404: { description: 'Not found', content: { 'application/json': { schema: errorBodySchema } } },
  409: { description: 'Conflict', content: { 'application/json': { schema: errorBodySchema } } },
  413: { description: 'Too large', content: { 'application/json': { schema: errorBodySchema } } },
  422: { description: 'Well-formed but refused', content: { 'application/json': { schema: errorBodySchema } } },
  429: { description: 'Over a limit (see Retry-After)', content: { 'application/json': { schema: errorBodySchema } } },
} as const;

export const claimIdParam = z.object({
  id: z.string().regex(/^[0-9a-f]{64}$/, 'claim id: 64 lowercase hex').openapi({ param: { name: 'id', in: 'path' } }),
});

export const taskIdParam = z.object({
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'task id')
    .openapi({ param: { name: 'id', in: 'path' } }),
});

export const jsonOk = (schema: z.ZodType, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

export const anyJson = z.record(z.string(), z.unknown());
