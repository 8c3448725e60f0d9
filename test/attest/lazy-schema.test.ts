import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { lazySchema } from '../../src/attest/lazy-schema.ts';
import { claimPayloadSchema } from '../../src/attest/claim.ts';

const eager = () => z.object({ name: z.string().min(2), n: z.number().int().default(0) }).strict();

describe('lazySchema', () => {
  it('builds on first use, once', () => {
    let builds = 0;
    const schema = lazySchema(() => {
      builds++;
      return eager();
    });
    expect(builds).toBe(0);
    schema.parse({ name: 'ab' });
    schema.safeParse({ name: 'cd' });
    expect(builds).toBe(1);
  });

  it('parses, defaults and refuses exactly as the schema it stands for', () => {
    const lazy = lazySchema(eager);
    for (const input of [{ name: 'ab' }, { name: 'a' }, { name: 'ab', n: 1.5 }, { name: 'ab', extra: 1 }, null, 'x']) {
      const a = eager().safeParse(input);
      const b = lazy.safeParse(input);
      expect(b.success).toBe(a.success);
      expect(b.data).toEqual(a.data);
      expect(b.error?.issues).toEqual(a.error?.issues);
    }
  });

  it('works as a member of another schema, and derived schemas keep its checks', () => {
    const inner = lazySchema(eager);
    const outer = z.object({ inner, list: z.array(inner).max(2) });
    expect(outer.safeParse({ inner: { name: 'ab' }, list: [] }).data).toEqual({ inner: { name: 'ab', n: 0 }, list: [] });
    expect(outer.safeParse({ inner: { name: 'a' }, list: [] }).error?.issues[0]?.path).toEqual(['inner', 'name']);
    expect(inner.extend({ extra: z.boolean() }).safeParse({ name: 'ab', extra: 1 }).success).toBe(false);
    expect(inner.optional().safeParse(undefined).success).toBe(true);
    expect(Object.keys(inner.shape)).toEqual(['name', 'n']);
  });

  it('answers type tests, key listings and descriptors as the built schema does', () => {
    const lazy = lazySchema(eager);
    const built = eager();
    expect(lazy instanceof z.ZodObject).toBe(true);
    expect(lazy instanceof z.ZodString).toBe(false);
    expect(Object.keys(lazy)).toEqual(Object.keys(built));
    // zod's `_zod` is non-configurable: reporting it must not break the proxy's invariants.
    expect(Object.getOwnPropertyDescriptor(lazy, '_zod')?.configurable).toBe(false);
    expect('_zod' in lazy).toBe(true);
  });

  it('a library schema declared lazily still refuses what it refused', () => {
    expect(claimPayloadSchema.safeParse({ v: 2 }).success).toBe(false);
    expect(claimPayloadSchema.shape.commit.safeParse('A'.repeat(40)).success).toBe(false);
    expect(claimPayloadSchema.shape.commit.safeParse('a'.repeat(40)).success).toBe(true);
  });
});
