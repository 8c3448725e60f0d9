// Loads the verifier trust registry from the database as the pure library's VerifierKey records, each valid from no
// earlier than its registration (src/attest/registry.ts, effectiveValidFrom): what `recheck` judges against too.
import { asc } from 'drizzle-orm';
import type { Db, Tx } from '../../../db/client.ts';
import { verifierKeys } from '../../../db/schema.ts';
import { toEffectiveRegistry, type VerifierKey } from '../../attest/registry.ts';

export async function loadRegistry(db: Db | Tx): Promise<VerifierKey[]> {
  const rows = await db.select().from(verifierKeys).orderBy(asc(verifierKeys.id));
  return toEffectiveRegistry(rows.map((r) => ({ ...r, tasks: r.tasks, registeredAt: r.createdAt })));
}
