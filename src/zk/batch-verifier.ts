// Pools the Groth16 pairing checks of concurrent claims: the shards of every claim that arrives within a few
// milliseconds (or until a proof count is reached) for the same circuit are checked with one final exponentiation
// (verifyGroth16Groups), and each caller gets its own claim's result. A claim after a quiet spell does not wait: it
// is checked on the next turn of the event loop, with whatever arrived in the same turn. Scheduling only: no pairing
// code here, no worker threads, and close() leaves no timer behind so a server can exit.
import { FIELD_MODULUS } from './statement.ts';
import { verifyGroth16Groups, type BatchResult, type Groth16Checker, type Groth16Item, type RegisteredCircuit } from './verify.ts';

export type BatchVerifierOptions = {
  /** How long the first claim of a batch waits for others. Bounds the latency a lone claim pays. */
  maxWaitMs?: number;
  /** A batch with at least this many proofs is checked at once, without waiting. */
  maxProofs?: number;
  /** A claim arriving this long after the previous one starts a batch that does not wait for company. */
  idleMs?: number;
  /** Monotonic milliseconds (tests pass a fake). */
  now?: () => number;
  /** The pooled check; replaceable in tests to count calls or inject faults. */
  verifyGroups?: typeof verifyGroth16Groups;
};

export type BatchVerifier = {
  /** The check of one claim's proofs, pooled with concurrent claims' (a Groth16Checker for verifyZkEvidence). */
  verify: Groth16Checker;
  /** Checks everything pending now, then stops pooling: later calls are checked at once, alone. */
  close(): Promise<void>;
  /** Pooled checks run so far and the claims they covered: how much pooling the traffic actually allows. */
  stats(): { checks: number; claims: number };
};

export const DEFAULT_MAX_WAIT_MS = 2;
export const DEFAULT_MAX_PROOFS = 256;
export const DEFAULT_IDLE_MS = 10;

type Waiter = { items: readonly Groth16Item[]; resolve: (r: BatchResult) => void; reject: (e: unknown) => void };
type Pending = { circuit: RegisteredCircuit; waiters: Waiter[]; proofs: number; cancel: () => void };

export function createBatchVerifier(options: BatchVerifierOptions = {}): BatchVerifier {
  const maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  const maxProofs = options.maxProofs ?? DEFAULT_MAX_PROOFS;
  const verifyGroups = options.verifyGroups ?? verifyGroth16Groups;
  const idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
  const now = options.now ?? (() => performance.now());
  let lastArrival = -Infinity;
  // One queue per registered key: proofs of different keys cannot share a pairing equation.
  const pending = new Map<string, Pending>();
  const running = new Set<Promise<void>>();
  let closed = false;
  const counts = { checks: 0, claims: 0 };

  function flush(key: string): void {
    const batch = pending.get(key);
    if (!batch) return;
    pending.delete(key);
    batch.cancel();
    counts.checks += 1;
    counts.claims += batch.waiters.length;
    const run = verifyGroups(
      batch.circuit,
      batch.waiters.map((w) => w.items),
    ).then(
      (results) => batch.waiters.forEach((w, i) => w.resolve(results[i]!)),
      // A fault (not a verdict) in the pooled check fails every caller of the batch: none of them was checked.
      (e: unknown) => batch.waiters.forEach((w) => w.reject(e)),
    );
    running.add(run);
    void run.finally(() => running.delete(run));
  }

  function verify(circuit: RegisteredCircuit, items: readonly Groth16Item[]): Promise<BatchResult> {
    // Caller bugs are refused here, for this caller alone, rather than failing a whole batch later.
    for (const it of items) {
      if (it.publicSignals.length !== circuit.nPublic) return Promise.reject(new RangeError('batch verifier: public signal count differs from the key'));
      if (it.publicSignals.some((s) => s < 0n || s >= FIELD_MODULUS)) return Promise.reject(new RangeError('batch verifier: public signal out of range'));
    }
    if (closed) return verifyGroups(circuit, [items]).then((r) => r[0]!);
    const key = `${circuit.id}\0${circuit.vkeySha256}`;
    return new Promise<BatchResult>((resolve, reject) => {
      const t = now();
      const quiet = t - lastArrival > idleMs;
      lastArrival = t;
      let batch = pending.get(key);
      if (!batch) {
        if (quiet) {
          const immediate = setImmediate(() => flush(key));
          batch = { circuit, waiters: [], proofs: 0, cancel: () => clearImmediate(immediate) };
        } else {
          const timer = setTimeout(() => flush(key), maxWaitMs);
          batch = { circuit, waiters: [], proofs: 0, cancel: () => clearTimeout(timer) };
        }
        pending.set(key, batch);
      }
      batch.waiters.push({ items, resolve, reject });
      batch.proofs += items.length;
      if (batch.proofs >= maxProofs) flush(key);
    });
  }

  async function close(): Promise<void> {
    closed = true;
    for (const key of [...pending.keys()]) flush(key);
    await Promise.all([...running]);
  }

  return { verify, close, stats: () => ({ ...counts }) };
}
