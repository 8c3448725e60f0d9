// The recorded mcl set-up the one-file recheck uses (src/zk/mcl-init-snapshot.ts): written into a fresh instance, it
// leaves memory byte for byte as mclBn_init itself does, and anything it was not recorded for runs mclBn_init.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { initialiseMcl, recordMclInit, type MclInstance } from '../../src/zk/mcl-init-snapshot.ts';

const require = createRequire(import.meta.url);
const createModule = require('mcl-wasm/dist/mcl_c.js') as (opts: object) => Promise<MclInstance>;
const { BN_SNARK1, BLS12_381, MCLBN_COMPILED_TIME_VAR } = require('mcl-wasm/dist/constants.js') as Record<string, number>;
const fresh = () => createModule({ cryptoGetRandomValues: () => expect.fail('mclBn_init asked for randomness') });
const memoryOf = (mod: MclInstance) => Buffer.from(new Uint8Array(mod.HEAP8.buffer));

describe('the recorded mclBn_init', () => {
  it('leaves a fresh instance exactly as mclBn_init does', async () => {
    const recorded = await fresh();
    const recording = recordMclInit(recorded, BN_SNARK1!, MCLBN_COMPILED_TIME_VAR!);
    // The recording is small next to the memory it describes, and says what it was recorded from.
    expect(Buffer.from(recording.changes, 'base64').length).toBeLessThan(64 * 1024);
    expect(recording.before).toMatch(/^[0-9a-f]{64}$/);

    const replayed = await fresh();
    expect(initialiseMcl(replayed, BN_SNARK1!, MCLBN_COMPILED_TIME_VAR!, recording)).toBe(0);
    expect(memoryOf(replayed).equals(memoryOf(recorded))).toBe(true);
    expect(replayed.stackSave()).toBe(recorded.stackSave());

    const run = await fresh();
    expect(run._mclBn_init(BN_SNARK1!, MCLBN_COMPILED_TIME_VAR!)).toBe(0);
    expect(memoryOf(run).equals(memoryOf(recorded))).toBe(true);
  });

  it('runs mclBn_init itself on memory it was not recorded from, or for another curve', async () => {
    const recording = recordMclInit(await fresh(), BN_SNARK1!, MCLBN_COMPILED_TIME_VAR!);
    const reference = await fresh();
    reference._mclBn_init(BN_SNARK1!, MCLBN_COMPILED_TIME_VAR!);

    // One byte of the starting memory differs: the recording does not apply, and mclBn_init's own result stands.
    const touched = await fresh();
    const spare = new Uint8Array(touched.HEAP8.buffer);
    const at = spare.length - 1;
    spare[at] = 1;
    expect(initialiseMcl(touched, BN_SNARK1!, MCLBN_COMPILED_TIME_VAR!, recording)).toBe(0);
    const expected = memoryOf(reference);
    expected[at] = 1;
    expect(memoryOf(touched).equals(expected)).toBe(true);

    // Another curve: mclBn_init runs for it, so the memory is not BN254's.
    const other = await fresh();
    expect(initialiseMcl(other, BLS12_381!, MCLBN_COMPILED_TIME_VAR!, recording)).toBe(0);
    expect(memoryOf(other).equals(memoryOf(reference))).toBe(false);

    // No recording at all (the repository's commands): mclBn_init as usual.
    const plain = await fresh();
    expect(initialiseMcl(plain, BN_SNARK1!, MCLBN_COMPILED_TIME_VAR!, undefined)).toBe(0);
    expect(memoryOf(plain).equals(memoryOf(reference))).toBe(true);
  });
});
