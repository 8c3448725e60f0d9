// Authorizes a signed worker request: a fresh, well-signed request by a verifier key that the registry trusts now.
import { eq } from 'drizzle-orm';
import { verifierKeys } from '../../../db/schema.ts';
import { isRevokedAt, toVerifierKey } from '../../attest/registry.ts';
import { verifyWorkerRequest, type WorkerRequest } from '../../attest/worker-request.ts';
import type { AppContext } from '../context.ts';
import { ServiceError } from '../errors.ts';

export type AuthorizedWorker = { request: WorkerRequest; keyId: string; owner: string; tasks: string[] };

export async function authorizeWorker(ctx: AppContext, envelope: unknown, action: WorkerRequest['action']): Promise<AuthorizedWorker> {
  const now = ctx.now();
  const checked = verifyWorkerRequest(envelope, now);
  if (!checked.ok) {
    const code = checked.reason === 'bad_signature' ? 'bad_signature' : checked.reason === 'stale_request' ? 'unauthorized' : 'bad_envelope';
    throw new ServiceError(code, checked.message);
  }
  const { request } = checked;
  if (request.action !== action) throw new ServiceError('bad_request', `this endpoint takes a signed "${action}" request`);
  const [row] = await ctx.db.select().from(verifierKeys).where(eq(verifierKeys.publicKey, request.verifierKey));
  // Only registry keys may take jobs: a stranger's worker could otherwise sit on leases and starve the queue.
  if (!row) throw new ServiceError('forbidden', 'this key is not in the verifier registry');
  const key = toVerifierKey(row);
  if (isRevokedAt(key, now)) throw new ServiceError('forbidden', 'this verifier key is revoked');
  if (Date.parse(key.validFrom) > now.getTime() || (key.validUntil && Date.parse(key.validUntil) <= now.getTime())) {
    throw new ServiceError('forbidden', 'this verifier key is outside its validity window');
  }
  const tasks = request.tasks ? request.tasks.filter((t) => key.tasks.includes(t)) : key.tasks;
  return { request, keyId: row.id, owner: `${row.id}/${request.worker}`, tasks };
}
