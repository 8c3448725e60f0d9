// Pools the Groth16 pairing checks of concurrent claims: the shards of every claim that is waiting when the checker
// is free are checked together for one circuit with one final exponentiation (verifyGroth16Groups), and each caller
// gets its own claim's result.
//
// Scheduling: at most `maxInFlight` pooled checks run at once. A claim that finds the checker free is checked on the
// next turn of the event loop, with whatever arrived in the same turn, so a lone claim never waits for company.
// Claims that arrive while the checker is busy wait for it and go together in the next check, so the pool grows with
// the load, and only with it (group commit, as the intake's storage does). No timer: close() leaves nothing behind.
// Where the check runs (this thread or a pairing thread, src/zk/pairing-thread.ts) is the caller's choice.
import type { RegisteredCircuit } from './circuit-registration.ts';
import { verifyGroth16Groups, type BatchResult, type Groth16Checker, type Groth16Item } from './groth16-batch.ts';
import { assertSignalsFit } from './public-signals.ts';

export type BatchVerifierOptions = {
  /** A pooled check takes at most this many proofs; the rest wait for the next. Bounds one check's latency. */
  maxProofs?: number;
  /** Pooled checks running at once: 1 for one pairing thread (or for the event loop itself). */
  maxInFlight?: number;
  /** The pooled check; a pairing thread's, or replaceable in tests to count calls or inject faults. */
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

export const DEFAULT_MAX_PROOFS = 256;

type Waiter = { items: readonly Groth16Item[]; resolve: (r: BatchResult) => void; reject: (e: unknown) => void };
type Queue = { circuit: RegisteredCircuit; waiters: Waiter[] };

export function createBatchVerifier(options: BatchVerifierOptions = {}): BatchVerifier {
  const maxProofs = options.maxProofs ?? DEFAULT_MAX_PROOFS;
  const maxInFlight = options.maxInFlight ?? 1;
  const verifyGroups = options.verifyGroups ?? verifyGroth16Groups;
  // One queue per registered key: proofs of different keys cannot share a pairing equation. Map order = arrival.
  const queues = new Map<string, Queue>();
  const running = new Set<Promise<void>>();
  let scheduled: NodeJS.Immediate | undefined;
  let closed = false;
  const counts = { checks: 0, claims: 0 };

  function schedule(): void {
    if (scheduled || queues.size === 0 || running.size >= maxInFlight) return;
    scheduled = setImmediate(() => {
      scheduled = undefined;
      startNext();
    });
  }

  /** Starts one pooled check of the oldest queue, at most maxProofs (and always at least one claim). */
  function startNext(): void {
    const [key, queue] = queues.entries().next().value ?? [];
    if (!key || !queue) return;
    let proofs = 0;
    let take = 0;
    while (take < queue.waiters.length && (take === 0 || proofs + queue.waiters[take]!.items.length <= maxProofs)) {
      proofs += queue.waiters[take]!.items.length;
      take += 1;
    }
    const waiters = queue.waiters.splice(0, take);
    // A queue with claims left goes to the back, so one busy circuit cannot starve another.
    queues.delete(key);
    if (queue.waiters.length > 0) queues.set(key, queue);
    counts.checks += 1;
    counts.claims += waiters.length;
    const run = verifyGroups(
      queue.circuit,
      waiters.map((w) => w.items),
    ).then(
      (results) => waiters.forEach((w, i) => w.resolve(results[i]!)),
      // A fault (not a verdict) in the pooled check fails every caller of the check: none of them was checked.
      (e: unknown) => waiters.forEach((w) => w.reject(e)),
    );
    running.add(run);
    void run.finally(() => {
      running.delete(run);
      schedule();
    });
    schedule();
  }

  function verify(circuit: RegisteredCircuit, items: readonly Groth16Item[]): Promise<BatchResult> {
    // Caller bugs are refused here, for this caller alone, rather than failing a whole batch later.
    try {
      assertSignalsFit(circuit.nPublic, items, 'batch verifier');
    } catch (e) {
      return Promise.reject(e);
    }
    if (closed) return verifyGroups(circuit, [items]).then((r) => r[0]!);
    const key = `${circuit.id}\0${circuit.vkeySha256}`;
    return new Promise<BatchResult>((resolve, reject) => {
      let queue = queues.get(key);
      if (!queue) queues.set(key, (queue = { circuit, waiters: [] }));
      queue.waiters.push({ items, resolve, reject });
      schedule();
    });
  }

  async function close(): Promise<void> {
    closed = true;
    if (scheduled) clearImmediate(scheduled);
    scheduled = undefined;
    // Everything pending is checked now, regardless of the in-flight bound: nothing may be left waiting.
    while (queues.size > 0) startNext();
    await Promise.all([...running]);
  }

  return { verify, close, stats: () => ({ ...counts }) };
}
