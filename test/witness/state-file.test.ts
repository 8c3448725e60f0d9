// The witness's state file (src/witness/state-file.ts): what it promised survives a restart, and a damaged file stops
// the witness instead of letting it start over (which would let it cosign a fork of a log it already witnessed).
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hashLeaf } from '../../src/log/index.ts';
import { loadWitnessState, saveWitnessState } from '../../src/witness/state-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'proofboard-witness-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('witness state file', () => {
  it('starts empty when missing, round-trips, and leaves no temporary file behind', async () => {
    const path = join(dir, 'state.json');
    expect((await loadWitnessState(path)).size).toBe(0);
    const record = { size: 7, rootHash: hashLeaf(new TextEncoder().encode('x')), note: 'log\n7\nroot\n\n— log AAAA\n' };
    await saveWitnessState(path, new Map([['example.org/log', record]]));
    await saveWitnessState(path, new Map([['example.org/log', { ...record, size: 8 }]]));
    const loaded = await loadWitnessState(path);
    expect(loaded.get('example.org/log')).toEqual({ ...record, size: 8 });
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  it('refuses a damaged or truncated file rather than forget what was cosigned', async () => {
    const path = join(dir, 'damaged.json');
    writeFileSync(path, '{"v":1,"logs":{"example.org/log":{"size":7,');
    await expect(loadWitnessState(path)).rejects.toThrow(/damaged/);
    writeFileSync(path, '{"v":1,"logs":{"example.org/log":{"size":-1,"rootHash":"AA==","note":""}}}');
    await expect(loadWitnessState(path)).rejects.toThrow(/damaged/);
  });
});
