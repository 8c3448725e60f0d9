// `proofboard witness`: a C2SP tlog-witness over HTTP. POST /add-checkpoint cosigns a checkpoint of a configured log
// only with a valid consistency proof from the one it cosigned before (the decision is src/log/witness-protocol.ts);
// GET /<hex sha256(origin)>/checkpoint serves the latest cosigned checkpoint ("Monitor Retrieval Mechanism").
//
// All add-checkpoint requests run one at a time, from reading the state to persisting it, so two requests can never
// both pass against one old size (the rollback race in tlog-witness "add-checkpoint"). A witness serves few logs and
// each request costs one signature and one fsync, so one queue is enough.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decideAddCheckpoint, formatCosignerKey, MAX_ADD_CHECKPOINT_BYTES, type Cosigner, type NoteVerifierKey } from '../log/index.ts';
import { loadWitnessState, saveWitnessState, type WitnessState } from './state-file.ts';

export type WitnessOptions = {
  cosigner: Cosigner;
  /** Per origin, the log keys it trusts. */
  logs: ReadonlyMap<string, readonly NoteVerifierKey[]>;
  statePath: string;
  host: string;
  port: number;
  now?: () => Date;
  log?: (line: string) => void;
};

export type RunningWitness = { url: string; vkey: string; close(): Promise<void> };

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Stop reading at the limit: a client cannot make the witness buffer more than one maximal request.
    if (size > limit) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export async function startWitness(opts: WitnessOptions): Promise<RunningWitness> {
  const state: WitnessState = await loadWitnessState(opts.statePath);
  const now = opts.now ?? (() => new Date());
  const log = opts.log ?? (() => {});
  const byOriginHash = (hash: string) => [...state].find(([origin]) => createHash('sha256').update(origin).digest('hex') === hash)?.[1];
  let queue: Promise<unknown> = Promise.resolve();

  async function addCheckpoint(body: string) {
    const answer = decideAddCheckpoint({ body, logs: opts.logs, latest: (o) => state.get(o), cosigner: opts.cosigner, now: now() });
    if (answer.status === 200) {
      const next: WitnessState = new Map(state);
      next.set(answer.origin, answer.record);
      // Durable before the cosignature leaves: a crash after answering must not forget what was promised.
      await saveWitnessState(opts.statePath, next);
      state.set(answer.origin, answer.record);
      log(`cosigned ${answer.origin} at size ${answer.record.size}`);
    } else if (answer.status === 422) {
      // Kept in the log: a valid log signature on an inconsistent tree is evidence of a fork (the spec allows it).
      log(`refused (422): ${answer.body.trim()}\n${body}`);
    }
    return answer;
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://witness');
    const reply = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method === 'POST' && url.pathname === '/add-checkpoint') {
      let bytes: Uint8Array;
      try {
        bytes = await readBody(req, MAX_ADD_CHECKPOINT_BYTES);
      } catch (e) {
        if (e instanceof BodyTooLarge) return reply(413, 'request body too large\n');
        throw e;
      }
      let body: string;
      try {
        body = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
      } catch {
        return reply(400, 'request body is not UTF-8\n');
      }
      const run = queue.then(() => addCheckpoint(body));
      queue = run.catch(() => {});
      const answer = await run;
      return reply(answer.status, answer.body, 'contentType' in answer ? answer.contentType : undefined);
    }
    const m = /^\/([0-9a-f]{64})\/checkpoint$/.exec(url.pathname);
    if (req.method === 'GET' && m) {
      const record = byOriginHash(m[1]!);
      return record ? reply(200, record.note) : reply(404, 'this witness has not cosigned a checkpoint of that log\n');
    }
    if (req.method === 'GET' && url.pathname === '/') return reply(200, `${formatCosignerKey(opts.cosigner)}\n`);
    return reply(404, 'not found\n');
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      // A state write that failed: nothing was cosigned, the client retries later.
      log(`error: ${e instanceof Error ? e.message : String(e)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    vkey: formatCosignerKey(opts.cosigner),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
