// The witness's one piece of state: per log origin, the latest checkpoint it cosigned. Its promise (never cosign two
// different trees of one size, never roll a log back) holds only while this file does, so:
//
// Contract:
// - load() reads the file or, when it does not exist, starts empty. A file that exists but does not parse is a
//   fault, never an empty state: starting over would let the witness cosign a fork of a log it already witnessed.
// - save() is atomic and durable: the whole state is written to a temporary file in the same folder, fsynced,
//   renamed over the old one and the folder fsynced, so after a crash at any point the file holds either the old
//   or the new state, and a cosignature is returned only after the state that includes it is durable.
// - One process per file: the service serialises its own requests (witness-server.ts); two processes on one file
//   would each believe their own state.
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { fromBase64, toBase64 } from '../attest/bytes.ts';
import type { WitnessedCheckpoint } from '../log/index.ts';

const fileSchema = z
  .object({
    v: z.literal(1),
    logs: z.record(z.string(), z.object({ size: z.number().int().nonnegative(), rootHash: z.string(), note: z.string() }).strict()),
  })
  .strict();

export type WitnessState = Map<string, WitnessedCheckpoint>;

export async function loadWitnessState(path: string): Promise<WitnessState> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw e;
  }
  let parsed;
  try {
    parsed = fileSchema.parse(JSON.parse(text));
  } catch (e) {
    throw new Error(`${path}: witness state is damaged (${e instanceof Error ? e.message : String(e)}); refusing to start rather than forget what was cosigned`);
  }
  const state: WitnessState = new Map();
  for (const [origin, r] of Object.entries(parsed.logs)) state.set(origin, { size: r.size, rootHash: fromBase64(r.rootHash, `${origin} root hash`), note: r.note });
  return state;
}

export async function saveWitnessState(path: string, state: WitnessState): Promise<void> {
  const logs: Record<string, { size: number; rootHash: string; note: string }> = {};
  for (const [origin, r] of state) logs[origin] = { size: r.size, rootHash: toBase64(r.rootHash), note: r.note };
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
  const file = await open(tmp, 'wx', 0o600);
  try {
    await file.writeFile(`${JSON.stringify({ v: 1, logs }, null, 1)}\n`);
    await file.sync();
  } catch (e) {
    await file.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
  await file.close();
  await rename(tmp, path);
  // The rename is durable only once the folder's entry is: without this a power loss could bring back the old file.
  const folder = await open(dir, 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}
