// Asks the configured witnesses (PROOFBOARD_WITNESSES) to cosign the latest checkpoint, in the background, and adds
// their cosignature lines to the stored checkpoint note (C2SP tlog-witness "add-checkpoint", tlog-cosignature).
//
// Intake never waits for a witness: appends sign and store their checkpoint in their own transaction
// (log-append.ts); this loop only reads committed checkpoints and proofs, and a witness that is down or slow delays
// its own cosignatures and nothing else (each request has a timeout, failures back off per witness).
//
// The cosignature lines are stored in the checkpoint's own note (log_checkpoints.note): a cosigned checkpoint is the
// same tree with more signature lines, verifiers ignore lines from keys they do not know, so every reader of the
// note (GET /v1/log/checkpoint, bundles) carries them without a schema change. Each line is verified with the
// witness's pinned key before it is stored, and the note is merged under a row lock, so API processes sharing one
// PostgreSQL add their lines without losing each other's.
import { eq } from 'drizzle-orm';
import { logCheckpoints } from '../../../db/schema.ts';
import {
  addCosignatures,
  formatAddCheckpointRequest,
  parseAddCheckpointResponse,
  parseCosignerKey,
  parseNote,
  TLOG_SIZE_CONTENT_TYPE,
  verifyCosignature,
  type CosignerKey,
} from '../../log/index.ts';
import type { WitnessConfig } from '../../config.ts';
import type { AppContext } from '../context.ts';
import { consistencyProof, latestCheckpoint } from '../views/log-read.ts';

const REQUEST_TIMEOUT_MS = 10_000;
const MAX_BACKOFF_MS = 60_000;

type WitnessClient = {
  url: string;
  key: CosignerKey;
  /** The size the witness last told us it holds (0 until it answers); sent as the old size. */
  heldSize: number;
  /** Size and root (base64) of the last checkpoint it cosigned for us, so an unchanged log asks nothing. */
  cosigned: string | null;
  failures: number;
  notBefore: number;
};

export type CosignatureGatherer = { stop(): Promise<void>; runOnce(): Promise<void> };

/** Parses the witness keys at start: a wrong vkey in the configuration stops the service with a clear message. */
export function witnessClients(witnesses: readonly WitnessConfig[]): WitnessClient[] {
  return witnesses.map((w) => {
    const key = parseCosignerKey(w.vkey);
    if (!key.ok) throw new Error(`PROOFBOARD_WITNESSES: ${w.vkey} is not a witness vkey: ${key.detail}`);
    return { url: w.url, key: key.value, heldSize: 0, cosigned: null, failures: 0, notBefore: 0 };
  });
}

export function startCosignatureGatherer(ctx: AppContext, log: (msg: string, detail?: unknown) => void): CosignatureGatherer {
  const clients = witnessClients(ctx.config.witnesses);
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  // Shutdown cancels requests in flight rather than wait out a slow witness's timeout.
  const cancel = new AbortController();
  const runOnce = async () => {
    await Promise.all(clients.map((c) => askWitness(ctx, c, log, cancel.signal)));
  };
  if (clients.length === 0) return { runOnce, stop: async () => {} };
  const timer = setInterval(() => {
    if (stopped) return;
    running = running.then(runOnce).catch((err: unknown) => log('cosignature round failed', err));
  }, ctx.config.witnessIntervalMs);
  timer.unref();
  return {
    runOnce,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      cancel.abort();
      await running;
    },
  };
}

async function askWitness(ctx: AppContext, w: WitnessClient, log: (msg: string, detail?: unknown) => void, cancel: AbortSignal): Promise<void> {
  if (Date.now() < w.notBefore || cancel.aborted) return;
  const latest = await latestCheckpoint(ctx);
  const id = `${latest.size}:${Buffer.from(latest.rootHash).toString('base64')}`;
  if (w.cosigned === id) return;
  try {
    // At most two tries: the second after a 409 has told us the size the witness holds.
    for (let attempt = 0; attempt < 2; attempt++) {
      if (w.heldSize > latest.size) {
        // The witness holds a larger tree of this log than we have: a restored backup or a fork elsewhere. Nothing we
        // can prove; an operator must look.
        throw new Error(`witness ${w.key.name} holds size ${w.heldSize}, larger than this log's ${latest.size}`);
      }
      const proof = w.heldSize === 0 ? [] : await consistencyProof(ctx, w.heldSize, latest.size);
      const res = await fetch(`${w.url}/add-checkpoint`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: formatAddCheckpointRequest({ oldSize: w.heldSize, proof, note: latest.note }),
        signal: AbortSignal.any([cancel, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
      });
      const body = await res.text();
      if (res.status === 409 && res.headers.get('content-type')?.startsWith(TLOG_SIZE_CONTENT_TYPE) && /^(0|[1-9][0-9]{0,15})\n$/.test(body)) {
        w.heldSize = Number(body.trim());
        continue;
      }
      if (res.status !== 200) throw new Error(`witness ${w.key.name} answered ${res.status}: ${body.slice(0, 300).trim()}`);
      await storeCosignatures(ctx, w.key, latest.size, body);
      w.heldSize = latest.size;
      w.cosigned = id;
      w.failures = 0;
      return;
    }
    throw new Error(`witness ${w.key.name} kept answering 409`);
  } catch (err) {
    w.failures++;
    w.notBefore = Date.now() + Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(w.failures, 10));
    log(`witness ${w.key.name} (${w.url}) did not cosign size ${latest.size}`, err);
  }
}

/** Verifies the witness's lines against the stored note and merges them into it under the row's lock. */
async function storeCosignatures(ctx: AppContext, key: CosignerKey, size: number, responseBody: string): Promise<void> {
  const lines = parseAddCheckpointResponse(responseBody);
  if (!lines.ok) throw new Error(`witness ${key.name}: malformed response: ${lines.detail}`);
  await ctx.db.transaction(async (tx) => {
    const [row] = await tx.select().from(logCheckpoints).where(eq(logCheckpoints.size, size)).for('update');
    if (!row) throw new Error(`checkpoint of size ${size} vanished`);
    const note = parseNote(row.note);
    if (!note.ok) throw new Error(`stored checkpoint of size ${size} is not a note: ${note.detail}`);
    // Only lines from this witness's key that verify over this very checkpoint are kept: a witness (or anyone on
    // the path) cannot slip another key's line, or a cosignature of another tree, into what the service publishes.
    const mine = lines.value.filter((l) => l.name === key.name && l.keyId === key.keyId && verifyCosignature(note.value.text, l, key).ok);
    if (mine.length === 0) throw new Error(`witness ${key.name}: no valid cosignature in its answer`);
    await tx.update(logCheckpoints).set({ note: addCosignatures(row.note, mine) }).where(eq(logCheckpoints.size, size));
  });
}
