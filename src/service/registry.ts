// Loads the verifier trust registry from the database as the pure library's VerifierKey records.
import { asc } from 'drizzle-orm';
import type { Db, Tx } from '../../db/client.ts';
import { verifierKeys } from '../../db/schema.ts';
import { toVerifierKey, type VerifierKey } from '../attest/registry.ts';

export async function loadRegistry(db: Db | Tx): Promise<VerifierKey[]> {
  const rows = await db.select().from(verifierKeys).orderBy(asc(verifierKeys.id));
  return rows.map((r) => toVerifierKey({ ...r, tasks: r.tasks }));
}
