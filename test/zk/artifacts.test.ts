// The committed circuit build: every output matches the manifest, the code pin matches the manifest, and the
// committed sources still compile to the committed constraint systems (circom2 from npm, as circuits/build.sh runs it).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DIGITS_CIRCUIT_ID, DIGITS_VKEY_SHA256, loadExampleTask } from '../../src/zk/example-task.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const sha = (p: string) => createHash('sha256').update(readFileSync(join(root, p))).digest('hex');
const manifest = JSON.parse(readFileSync(join(root, 'circuits/build/manifest.json'), 'utf8')) as {
  circuits: Record<string, { files: Record<string, string> }>;
};
const MB = 1024 * 1024;

describe('committed circuit build', () => {
  for (const [id, c] of Object.entries(manifest.circuits)) {
    it(`${id}: every committed output and the source match the manifest`, () => {
      // The r1cs is not committed: its hash is in the manifest and the next test recompiles the source to it.
      const outputs = readdirSync(join(root, 'circuits/build', id)).sort();
      expect(outputs).toEqual(Object.keys(c.files).filter((f) => f !== 'source' && f !== `${id}.r1cs`).sort());
      for (const f of outputs) {
        expect(sha(`circuits/build/${id}/${f}`), f).toBe(c.files[f]);
        // A guard against committing a key by mistake (a PLONK key is hundreds of MB); digits-mlp's zkey is ~35 MB.
        expect(readFileSync(join(root, 'circuits/build', id, f)).length).toBeLessThan(48 * MB);
      }
      expect(sha(`circuits/${id}.circom`)).toBe(c.files.source);
    });

    it(`${id}: the source compiles to the committed r1cs`, () => {
      const out = mkdtempSync(join(tmpdir(), 'pb-circom-'));
      try {
        // circom2 resolves -l include paths only relative to the folder holding node_modules (shared/FACTS.md).
        execFileSync('npx', ['circom2', `circuits/${id}.circom`, '--r1cs', '--O2', '-l', 'node_modules', '-l', 'circuits', '-o', out], {
          cwd: root,
          stdio: 'pipe',
        });
        const fresh = createHash('sha256').update(readFileSync(join(out, `${id}.r1cs`))).digest('hex');
        expect(fresh).toBe(c.files[`${id}.r1cs`]);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });
  }

  it('the verification key pinned in code is the committed one', async () => {
    expect(manifest.circuits[DIGITS_CIRCUIT_ID]!.files[`${DIGITS_CIRCUIT_ID}.vkey.json`]).toBe(DIGITS_VKEY_SHA256);
    const t = await loadExampleTask();
    expect(t).toMatchObject({ taskId: 'digits-mlp', metric: { name: 'correct', direction: 'max' }, evalRows: 64 });
    // One shard: the whole eval set in one proof (circuits/digits-mlp.circom, main).
    expect(t.shardCommitments).toHaveLength(1);
    expect(t.circuit.nPublic).toBe(11);
  });
});
