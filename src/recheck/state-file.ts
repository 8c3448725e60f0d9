// What a re-check remembers between runs, per server: the log key it trusted (pinned or on first use), the last
// signed checkpoint it verified (so the next run demands a consistency proof), the verifier registry it saw (keys,
// validity, registration, revocations and tasks, so trust granted or restored after the fact is caught), and each
// task's policy (so a quorum or tolerance loosened in the database is caught). Written atomically, mode 0600.
//
// The format grows by optional fields only, under `v: 1`: a file written before a field existed is read as it is, the
// field is not compared on that run, and the file is written back with it (no false alarm on upgrade).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';

export const registrySnapshotSchema = z.record(
  z.string(),
  z.object({
    publicKey: z.string(),
    validFrom: z.string(),
    registeredAt: z.string(),
    // Remembered since issue 15; absent in older state files.
    validUntil: z.string().nullable().optional(),
    revokedAt: z.string().nullable().optional(),
    revocationReason: z.string().nullable().optional(),
    tasks: z.array(z.string()).optional(),
    // Remembered since issue 15, finding 4 (absent in older state files): a key moved to another operator splits
    // one vote into two after the fact.
    operator: z.string().optional(),
  }),
);
export type RegistrySnapshot = z.infer<typeof registrySnapshotSchema>;

/** Per task id: the SHA-256 of the canonical JSON of its policy, the policy itself (to name what changed), and when. */
// definitionEntry: the log entry of the task's definition (task-definition.ts), once seen; a task has exactly one.
export const taskSnapshotSchema = z.record(
  z.string(),
  z.object({ policySha256: z.string(), policy: z.unknown(), seenAt: z.string(), definitionEntry: z.number().int().nonnegative().optional() }),
);
export type TaskSnapshot = z.infer<typeof taskSnapshotSchema>;

const serverStateSchema = z.object({
  vkey: z.string(),
  checkpoint: z.string().optional(),
  checkpointSeenAt: z.string().optional(),
  registry: registrySnapshotSchema.optional(),
  registrySeenAt: z.string().optional(),
  tasks: taskSnapshotSchema.optional(),
});
export type ServerState = z.infer<typeof serverStateSchema>;

const stateSchema = z.object({ v: z.literal(1), servers: z.record(z.string(), serverStateSchema) });
export type RecheckState = z.infer<typeof stateSchema>;

export function defaultStatePath(): string {
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'proofboard', 'recheck-state.json');
}

/** A missing file is an empty state; a corrupt one is an error (silently starting over would re-enable TOFU). */
export function readState(path: string): RecheckState {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { v: 1, servers: {} };
    throw e;
  }
  const parsed = stateSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${path}: not a proofboard recheck state file`);
  return parsed.data;
}

export function writeState(path: string, state: RecheckState): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

/** The state key of a server: its URL origin, so `http://h:1/` and `http://h:1` are one server. */
export function serverKey(server: string): string {
  return new URL(server).origin;
}
