// Pairing checks on worker threads. A Groth16 check is about a millisecond of pure CPU per proof, and on the intake's
// path it competed with HTTP parsing and database round trips for the one event-loop thread; a pairing thread lets
// the check use another core while the event loop serves requests. The pool of src/zk/batch-verifier.ts decides
// what is checked together; this file only decides where.
//
// Faults: a thread that dies (or cannot start) fails the checks it held with a PairingThreadFault; the caller's
// choice is to check them on its own thread instead (see judge-zk.ts). A verdict never comes from a fault.
import { Worker } from 'node:worker_threads';
import type { RegisteredCircuit } from './circuit-registration.ts';
import type { BatchResult, Groth16Item } from './groth16-batch.ts';
import type { PairingReply, PairingRequest } from './pairing-worker.ts';

export class PairingThreadFault extends Error {}

export type PairingThreads = {
  verifyGroups(circuit: RegisteredCircuit, groups: readonly (readonly Groth16Item[])[]): Promise<BatchResult[]>;
  /** Prepares the key in every thread (and starts them), so the first claim does not pay the cold start. */
  warmUp(circuit: RegisteredCircuit): Promise<void>;
  /** Ends the threads; checks still running fail with a PairingThreadFault. */
  close(): Promise<void>;
  /** Tests only: the live workers, so a test can kill one as a crash would. */
  _debugWorkers(): Worker[];
};

type Slot = { worker: Worker | undefined; busy: number; waiting: Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }> };

// Omit over each member of the union (plain Omit would keep only the fields they share).
type Unsent<T> = T extends unknown ? Omit<T, 'id'> : never;

const ENTRY = new URL('./pairing-thread-entry.mjs', import.meta.url);

/**
 * `spawn` starts one thread running pairing-worker.ts; by default from pairing-thread-entry.mjs beside this file. A
 * bundled program (the one-file recheck) passes its own, since that file is not beside it there.
 */
export function createPairingThreads(count: number, spawn: () => Worker = () => new Worker(ENTRY)): PairingThreads {
  if (!Number.isInteger(count) || count < 1) throw new RangeError('pairing threads: count must be a positive integer');
  const slots: Slot[] = Array.from({ length: count }, () => ({ worker: undefined, busy: 0, waiting: new Map() }));
  let nextId = 1;
  let closed = false;

  function fail(slot: Slot, why: string): void {
    slot.worker = undefined;
    slot.busy = 0;
    const waiting = [...slot.waiting.values()];
    slot.waiting.clear();
    for (const w of waiting) w.reject(new PairingThreadFault(why));
  }

  function workerOf(slot: Slot): Worker {
    if (slot.worker) return slot.worker;
    const worker = spawn();
    // The thread must not keep a finished process alive; a request in flight is held by its HTTP request anyway.
    worker.unref();
    worker.on('message', (reply: PairingReply) => {
      const w = slot.waiting.get(reply.id);
      if (!w) return;
      slot.waiting.delete(reply.id);
      slot.busy -= 1;
      if (reply.ok) w.resolve(reply.results);
      else w.reject(reply.name === 'RangeError' ? new RangeError(reply.message) : new Error(`pairing thread: ${reply.message}`));
    });
    worker.on('error', (e) => slot.worker === worker && fail(slot, `pairing thread failed: ${e.message}`));
    worker.on('exit', (code) => slot.worker === worker && fail(slot, `pairing thread exited with code ${code}`));
    slot.worker = worker;
    return worker;
  }

  function send(slot: Slot, request: Unsent<PairingRequest>): Promise<unknown> {
    if (closed) return Promise.reject(new PairingThreadFault('pairing threads are closed'));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      slot.waiting.set(id, { resolve, reject });
      slot.busy += 1;
      workerOf(slot).postMessage({ ...request, id });
    });
  }

  const leastBusy = () => slots.reduce((a, b) => (b.busy < a.busy ? b : a));

  return {
    verifyGroups: (circuit, groups) =>
      send(leastBusy(), { kind: 'verify', circuit, groups: groups.map((g) => [...g]) }) as Promise<BatchResult[]>,
    warmUp: async (circuit) => void (await Promise.all(slots.map((slot) => send(slot, { kind: 'warm-up', circuit })))),
    _debugWorkers: () => slots.flatMap((s) => (s.worker ? [s.worker] : [])),
    close: async () => {
      closed = true;
      await Promise.all(
        slots.map(async (slot) => {
          const worker = slot.worker;
          fail(slot, 'pairing threads are closed');
          await worker?.terminate();
        }),
      );
    },
  };
}
