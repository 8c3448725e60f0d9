// The example task seeded on first start, on each database: seeding twice changes nothing, and a database whose
// example circuit was registered by another circuit build (an older key) is named at start, its key left as it is.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { circuits } from '../../db/schema.ts';
import type { AppContext } from '../../src/service/context.ts';
import { seedExampleTask, staleExampleCircuit } from '../../src/service/example-task.ts';
import { DIGITS_CIRCUIT_ID, DIGITS_VKEY_SHA256 } from '../../src/zk/example-task.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { makeTestContext } from '../helpers/context.ts';

describe.each(databaseKinds())('example task on %s', (kind) => {
  let ctx: AppContext;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ ctx, close } = await makeTestContext(kind));
  });
  afterAll(() => close());

  it('is seeded once, with the key this build pins', async () => {
    expect(await seedExampleTask(ctx)).toBe(false);
    const rows = await ctx.db.select({ vkeySha256: circuits.vkeySha256 }).from(circuits).where(eq(circuits.id, DIGITS_CIRCUIT_ID));
    expect(rows).toEqual([{ vkeySha256: DIGITS_VKEY_SHA256 }]);
    expect(await staleExampleCircuit(ctx)).toBeNull();
  });

  it('names an older key left by another build, and seeding again does not overwrite it', async () => {
    const older = 'ab'.repeat(32);
    await ctx.db.update(circuits).set({ vkeySha256: older }).where(eq(circuits.id, DIGITS_CIRCUIT_ID));
    expect(await staleExampleCircuit(ctx)).toBe(older);
    expect(await seedExampleTask(ctx)).toBe(false);
    expect(await staleExampleCircuit(ctx)).toBe(older);
  });
});
