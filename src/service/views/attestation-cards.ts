// What the claim page shows of each attestation: the measured value per run and seed and the hardware (from the
// signed statement), and who signed it by its registry record (name, operator, revoked or not, the service's own
// worker or not). The statement is parsed with the same strict parser intake used; the page never trusts a field
// the signature does not cover.
import { inArray, or } from 'drizzle-orm';
import { fromBase64 } from '../../attest/bytes.ts';
import { parseReplayStatement } from '../../attest/statement.ts';
import { verifierKeys } from '../../../db/schema.ts';
import type { AppContext } from '../context.ts';
import { SERVICE_OPERATOR } from '../actions/service-worker-key.ts';

export type AttestationCard = {
  runs: { seed: number; value: number }[] | null;
  hardware: string | null;
  runner: string | null;
  signer: { id: string; name: string; operator: string; revokedAt: string | null; revocationReason: string | null; service: boolean } | null;
};

type EvidenceRow = { kind: string; digest: string; body: unknown };

/** One card per attestation evidence row, by digest. */
export async function attestationCards(ctx: AppContext, evidence: EvidenceRow[]): Promise<Map<string, AttestationCard>> {
  const parsed = evidence.filter((e) => e.kind === 'attestation').map((e) => ({ digest: e.digest, ...readAttestation(e.body) }));
  const hints = [...new Set(parsed.map((p) => p.keyid).filter((k): k is string => k !== null))];
  // A keyid is the signer's public key (proofboard attest, the worker) or its registry id: either finds the record.
  const keys = hints.length
    ? await ctx.db.select().from(verifierKeys).where(or(inArray(verifierKeys.publicKey, hints), inArray(verifierKeys.id, hints)))
    : [];
  const cards = new Map<string, AttestationCard>();
  for (const p of parsed) {
    const k = keys.find((key) => key.publicKey === p.keyid || key.id === p.keyid);
    cards.set(p.digest, {
      runs: p.runs,
      hardware: p.hardware,
      runner: p.runner,
      signer: k
        ? {
            id: k.id,
            name: k.name,
            operator: k.operator,
            revokedAt: k.revokedAt?.toISOString() ?? null,
            revocationReason: k.revocationReason,
            service: k.operator === SERVICE_OPERATOR,
          }
        : null,
    });
  }
  return cards;
}

function readAttestation(body: unknown): { keyid: string | null; runs: AttestationCard['runs']; hardware: string | null; runner: string | null } {
  const env = (body as { envelope?: { payload?: unknown; signatures?: unknown } } | null)?.envelope;
  const sigs = Array.isArray(env?.signatures) ? env.signatures : [];
  const rawKeyid = (sigs[0] as { keyid?: unknown } | undefined)?.keyid;
  const keyid = typeof rawKeyid === 'string' && /^[0-9a-f]{32}([0-9a-f]{32})?$/.test(rawKeyid) ? rawKeyid : null;
  let statement: ReturnType<typeof parseReplayStatement> | null = null;
  try {
    statement = typeof env?.payload === 'string' ? parseReplayStatement(fromBase64(env.payload, 'payload')) : null;
  } catch {
    statement = null;
  }
  if (!statement?.ok) return { keyid, runs: null, hardware: null, runner: null };
  const { runs, environment } = statement.statement.predicate;
  const gpu = environment.gpu === 'cpu' ? 'CPU only' : `${environment.gpu.count} × ${environment.gpu.model}`;
  return { keyid, runs, hardware: `${gpu}${environment.driver ? `, driver ${environment.driver}` : ''}`, runner: environment.runnerVersion };
}
