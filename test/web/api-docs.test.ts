// docs/api.md is generated from the OpenAPI document: this fails when a route changed and the doc was not regenerated
// (run `npm run docs:api`).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { API_DOC_PATH, generateApiDoc } from '../../scripts/api-docs.ts';

describe('docs/api.md', () => {
  it('matches what npm run docs:api generates from the routes now', async () => {
    const generated = await generateApiDoc();
    expect(generated).toContain('## POST /v1/claims');
    expect(readFileSync(API_DOC_PATH, 'utf8'), 'docs/api.md is stale: run npm run docs:api').toBe(generated);
  });
});
