// What the readers' pages need on top of seedLeaderboard: a commit verified twice (one row on the board), a rejected
// claim whose zk evidence was refused, and an attested claim whose attestations were signed by a key since revoked
// and by the service's own worker, each a real signed statement with runs per seed and a GPU environment.
import type { Api } from '../../src/api/app.ts';
import type { AppContext } from '../../src/service/context.ts';
import { ensureServiceWorkerKey } from '../../src/service/actions/service-worker-key.ts';
import { EXAMPLE_PINS, replayAttestation } from '../helpers/attestations.ts';
import { newKey, postJson } from '../helpers/claims.ts';
import { OPERATOR_TOKEN } from '../helpers/context.ts';
import { addEvidence, commitOf, decide, submitPending, type Seeded } from './seed.ts';

const auth = { authorization: `Bearer ${OPERATOR_TOKEN}` };

export type ReaderSeed = Awaited<ReturnType<typeof seedReaders>>;

export async function seedReaders(ctx: AppContext, app: Api, seeded: Seeded) {
  // Commit c3 again, by another submitter, verified with a worse value: the board keeps c3's best (1520) in one row.
  const again = await submitPending(app, seeded.keys.bob, commitOf('c3'), 1510, commitOf('b2'));
  await decide(ctx, again, { status: 'verified', method: 'replayed', reasonCode: null, rule: 'replay by 1 verifier within abs 0' }, new Date());

  // The rejected claim's proof, as intake stored it before the pairing check refused it.
  await addEvidence(ctx, seeded.rejected, { type: 'zk', circuit: 'digits-mlp', shards: [{ publicSignals: ['1234567890123456789012345678901234567890'] }] });

  // Two attestations with real statements: a lab whose key is retired later, and the service's own worker.
  const lab = newKey();
  const added = await postJson(app, '/v1/verifier-keys', { name: 'Lab Ridge', operator: 'lab-ridge', publicKey: lab.hex, tasks: ['digits-mlp'] }, auth);
  if (added.status !== 201) throw new Error(`verifier key: ${added.status} ${await added.text()}`);
  const labId = ((await added.json()) as { id: string }).id;
  const worker = newKey();
  await ensureServiceWorkerKey(ctx, worker.hex);

  const attested = await submitPending(app, seeded.keys.carol, commitOf('b8'), 1505, commitOf('b2'));
  const environment = {
    gpu: { model: 'NVIDIA H100 80GB HBM3', count: 1 },
    driver: '550.90.07',
    runtimes: { python: '3.11.2', torch: '2.5.1' },
    runnerVersion: 'proofboard-verifier/0.1.0',
    harnessSha256: EXAMPLE_PINS.harnessSha256,
    datasetSha256: EXAMPLE_PINS.datasetSha256,
    sandboxProfileSha256: 'c'.repeat(64),
  };
  for (const [key, values] of [
    [lab, [1504, 1506]],
    [worker, [1505, 1507]],
  ] as const) {
    const envelope = replayAttestation(key, {
      claimId: attested,
      commit: commitOf('b8'),
      value: values[0],
      now: new Date(),
      predicate: { runs: values.map((value, seed) => ({ seed, value })), environment },
    });
    await addEvidence(ctx, attested, { type: 'attestation', envelope });
  }
  await decide(ctx, attested, { status: 'verified', method: 'attested', reasonCode: null, rule: 'quorum 2/2 within abs 2' }, new Date());
  // A claim the service's own worker replayed (plain `npm start`): the page says the server re-ran it itself.
  const serviceReplayed = await submitPending(app, seeded.keys.carol, commitOf('b9'), 1495);
  await addEvidence(ctx, serviceReplayed, {
    type: 'attestation',
    envelope: replayAttestation(worker, { claimId: serviceReplayed, commit: commitOf('b9'), value: 1495, now: new Date(), predicate: { environment } }),
  });
  await decide(ctx, serviceReplayed, { status: 'verified', method: 'replayed', reasonCode: null, rule: 'replay by 1 verifier within abs 0' }, new Date());
  const revoked = await postJson(app, `/v1/verifier-keys/${labId}/revoke`, { reason: 'retired' }, auth);
  if (revoked.status !== 200) throw new Error(`revoke: ${revoked.status} ${await revoked.text()}`);
  return { again, attested, labId, serviceReplayed };
}
