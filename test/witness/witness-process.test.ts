// `proofboard witness` as a process: its key made by `witness keygen`, killed with SIGKILL right after cosigning,
// started again on the same state file: it still holds the size it cosigned, refuses another tree of that size, and
// goes on cosigning the honest log.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  consistencyProofFrom,
  formatAddCheckpointRequest,
  generateSignerKey,
  MemoryTree,
  parseAddCheckpointResponse,
  parseCosignerKey,
  signCheckpoint,
  verifyWitnessQuorum,
  addCosignatures,
} from '../../src/log/index.ts';
import { BIN, cli, ROOT } from '../helpers/processes.ts';

const dir = mkdtempSync(join(tmpdir(), 'proofboard-witness-proc-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const ORIGIN = 'witness-proc.test/log';
const log = generateSignerKey(ORIGIN, new Uint8Array(32).fill(5));
const tree = (n: number, tag = 'entry') => {
  const t = new MemoryTree();
  for (let i = 0; i < n; i++) t.appendData(new TextEncoder().encode(`${tag} ${i}`));
  return t;
};
const note = (t: MemoryTree) => signCheckpoint({ origin: ORIGIN, size: t.size, rootHash: t.root(), extensions: [] }, log.signer);

async function startWitness(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [BIN, 'witness', '--key', join(dir, 'key'), '--state', join(dir, 'state.json'), '--log', `${ORIGIN}=${log.vkey}`, '--listen', '127.0.0.1:0'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', () => {
      const m = /serving (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`witness exited with ${code}:\n${out}`)));
  });
  return { url, child };
}

describe('proofboard witness', () => {
  it('keeps its promise across a SIGKILL', async () => {
    const keygen = await cli(['witness', 'keygen', '--name', 'witness-proc.test/w1', '--out', join(dir, 'key')]);
    expect(keygen.code, keygen.stderr).toBe(0);
    expect(statSync(join(dir, 'key')).mode & 0o777).toBe(0o600);
    const vkey = /witness vkey: (\S+)/.exec(keygen.stdout)![1]!;
    const pinned = parseCosignerKey(vkey);
    if (!pinned.ok) throw new Error(pinned.detail);
    expect((await cli(['witness', 'keygen', '--name', 'x', '--out', join(dir, 'key')])).code).not.toBe(0);

    const post = (url: string, body: string) => fetch(`${url}/add-checkpoint`, { method: 'POST', body });
    let w = await startWitness();
    const t5 = tree(5);
    const first = await post(w.url, formatAddCheckpointRequest({ oldSize: 0, proof: [], note: note(t5) }));
    expect(first.status).toBe(200);
    const lines = parseAddCheckpointResponse(await first.text());
    if (!lines.ok) throw new Error(lines.detail);
    expect(verifyWitnessQuorum(addCosignatures(note(t5), lines.value), { witnesses: [pinned.value], needed: 1 }).ok).toBe(true);

    // Killed without a chance to flush anything: what it answered must already be on disk.
    w.child.kill('SIGKILL');
    await new Promise((r) => w.child.once('exit', r));
    expect(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')).logs[ORIGIN].size).toBe(5);

    w = await startWitness();
    const stale = await post(w.url, formatAddCheckpointRequest({ oldSize: 0, proof: [], note: note(tree(7)) }));
    expect([stale.status, await stale.text()]).toEqual([409, '5\n']);
    expect((await post(w.url, formatAddCheckpointRequest({ oldSize: 5, proof: [], note: note(tree(5, 'forked')) }))).status).toBe(422);
    const t9 = tree(9);
    const next = await post(w.url, formatAddCheckpointRequest({ oldSize: 5, proof: await consistencyProofFrom(t9, 5, 9), note: note(t9) }));
    expect(next.status).toBe(200);
    w.child.kill('SIGTERM');
  }, 120_000);
});
