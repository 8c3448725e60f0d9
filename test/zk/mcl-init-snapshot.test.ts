// The recorded mcl set-up the one-file recheck uses (src/zk/mcl-init-snapshot.ts): written into a fresh instance, it
// leaves memory byte for byte as mclBn_init itself does, without running it; on memory it was not recorded from, for
// another curve or without a recording, mclBn_init runs. That the built file does use it is shown by its --version in
// test/e2e/recheck-one-file.test.ts.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { initialiseMcl, mclInitWasReplayed, recordMclInit, type MclInstance } from '../../src/zk/mcl-init-snapshot.ts';

const require = createRequire(import.meta.url);
const createModule = require('mcl-wasm/dist/mcl_c.js') as (opts: object) => Promise<MclInstance>;
const { BN_SNARK1, BLS12_381, MCLBN_COMPILED_TIME_VAR } = require('mcl-wasm/dist/constants.js') as Record<string, number>;
const memoryOf = (mod: MclInstance) => Buffer.from(new Uint8Array(mod.HEAP8.buffer));

/** A fresh instance whose mclBn_init counts its calls. */
async function fresh() {
  const mod = await createModule({ cryptoGetRandomValues: () => expect.fail('mclBn_init asked for randomness') });
  const run = mod._mclBn_init.bind(mod);
  const counted = Object.assign(mod, { calls: 0 });
  counted._mclBn_init = (curve: number, v: number) => {
    counted.calls++;
    return run(curve, v);
  };
  return counted;
}

/** The first byte mclBn_init changes, from the recording's own ranges. */
const firstChangedOffset = (changes: string) => Buffer.from(changes, 'base64').readUInt32LE(0);

describe('the recorded mclBn_init', () => {
  it('leaves a fresh instance exactly as mclBn_init does, without running it', async () => {
    const recorded = await fresh();
    const recording = recordMclInit(recorded, BN_SNARK1!, MCLBN_COMPILED_TIME_VAR!);
    // The recording is small next to the memory it describes, and says what it was recorded from.
    expect(Buffer.from(recording.changes, 'base64').length).toBeLessThan(64 * 1024);
    expect(recording.before).toMatch(/^[0-9a-f]{64}$/);

    const replayed = await fresh();
    expect(initialiseMcl(replayed, BN_SNARK1!, MCLBN_COMPILED_TIME_VAR!, recording)).toBe(0);
    expect(replayed.calls).toBe(0);
    expect(mclInitWasReplayed()).toBe(true);
    expect(memoryOf(replayed).equals(memoryOf(recorded))).toBe(true);
    expect(replayed.stackSave()).toBe(recorded.stackSave());

    const run = await fresh();
    expect(run._mclBn_init(BN_SNARK1!, MCLBN_COMPILED_TIME_VAR!)).toBe(0);
    expect(memoryOf(run).equals(memoryOf(recorded))).toBe(true);
  });

  it('runs mclBn_init itself on memory it was not recorded from, for another curve, or without a recording', async () => {
    const recording = recordMclInit(await fresh(), BN_SNARK1!, MCLBN_COMPILED_TIME_VAR!);
    const reference = await fresh();
    reference._mclBn_init(BN_SNARK1!, MCLBN_COMPILED_TIME_VAR!);

    // One byte the set-up writes differs beforehand: the recording does not apply, and mclBn_init runs.
    const touched = await fresh();
    const at = firstChangedOffset(recording.changes);
    const bytes = new Uint8Array(touched.HEAP8.buffer);
    bytes[at] = bytes[at]! ^ 0xff;
    expect(initialiseMcl(touched, BN_SNARK1!, MCLBN_COMPILED_TIME_VAR!, recording)).toBe(0);
    expect(touched.calls).toBe(1);
    expect(mclInitWasReplayed()).toBe(false);

    // A byte the set-up never writes differs: still not the memory it was recorded from, so mclBn_init runs, and
    // the byte stays as it was.
    const elsewhere = await fresh();
    const spare = new Uint8Array(elsewhere.HEAP8.buffer);
    spare[spare.length - 1] = 1;
    expect(initialiseMcl(elsewhere, BN_SNARK1!, MCLBN_COMPILED_TIME_VAR!, recording)).toBe(0);
    expect(elsewhere.calls).toBe(1);
    const expected = memoryOf(reference);
    expected[spare.length - 1] = 1;
    expect(memoryOf(elsewhere).equals(expected)).toBe(true);

    // Another curve: mclBn_init runs for it, so the memory is not BN254's.
    const other = await fresh();
    expect(initialiseMcl(other, BLS12_381!, MCLBN_COMPILED_TIME_VAR!, recording)).toBe(0);
    expect(other.calls).toBe(1);
    expect(memoryOf(other).equals(memoryOf(reference))).toBe(false);

    // No recording at all (the repository's commands): mclBn_init as usual.
    const plain = await fresh();
    expect(initialiseMcl(plain, BN_SNARK1!, MCLBN_COMPILED_TIME_VAR!, undefined)).toBe(0);
    expect(plain.calls).toBe(1);
    expect(memoryOf(plain).equals(memoryOf(reference))).toBe(true);
  });
});
