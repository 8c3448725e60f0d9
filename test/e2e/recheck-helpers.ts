// Builds a leaderboard through a real server's HTTP API (verifier keys, attested and zk claims), and edits that
// server's database behind its back: PostgreSQL directly, or PGlite's data folder with the server stopped.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import postgres from 'postgres';
import { fromBase64, toHex } from '../../src/attest/bytes.ts';
import { claimIdOf, signClaim, type ClaimPayload } from '../../src/attest/claim.ts';
import { ed25519PublicKey } from '../../src/attest/ed25519.ts';
import { buildReplayStatement, signAttestation } from '../../src/attest/statement.ts';
import { mineStamp } from '../../src/attest/stamp.ts';
import { newWorkerInstanceId, signWorkerRequest } from '../../src/attest/worker-request.ts';
import type { DsseEnvelope } from '../../src/attest/dsse.ts';
import { startServer, type ServerProcess } from '../helpers/processes.ts';
import { syntheticCommit } from '../helpers/git-objects.ts';
import { logOrigin, withIntake } from '../helpers/claims.ts';
import { createPostgresDatabase } from '../helpers/databases.ts';
import { openDatabase } from '../../db/client.ts';
import type { AppContext } from '../../src/service/context.ts';
import { loadConfig } from '../../src/config.ts';
import { buildContext } from '../../src/server.ts';
import { loadSecrets } from '../../src/service/storage/secrets.ts';
import { environmentPinsOf } from '../../src/attest/task-pack.ts';
import { exampleTask } from '../../src/service/example-task.ts';

const EXAMPLE_PINS = environmentPinsOf(exampleTask.pack)!;

export const OPERATOR_TOKEN = 'recheck-test-operator-token-0123456789';
export const LOG_SEED_HEX = '5a'.repeat(32);
export const TASK = 'digits-mlp';

export type Key = { secretKey: Uint8Array; hex: string };
export const keyFrom = (label: string): Key => {
  const secretKey = Uint8Array.from(createHash('sha256').update(`recheck-test:${label}`).digest());
  return { secretKey, hex: toHex(ed25519PublicKey(secretKey)) };
};

async function call(server: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const isBytes = body instanceof Uint8Array;
  const res = await fetch(new URL(path, server), {
    method,
    headers: { 'content-type': isBytes ? 'application/octet-stream' : 'application/json', ...headers },
    body: body === undefined ? undefined : isBytes ? (body as unknown as BodyInit) : JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Trusts `key` for the task; each verifier its own operator unless `operator` names a shared one. */
export async function registerVerifier(server: string, name: string, key: Key, operator = name) {
  return call(server, 'POST', '/v1/verifier-keys', { name, operator, publicKey: key.hex, tasks: [TASK] }, { authorization: `Bearer ${OPERATOR_TOKEN}` });
}

/** Real git bundles of the commits randomCommit() made: intake refuses a claim whose bundle does not hold its commit. */
const bundles = new Map<string, Uint8Array>();

/** Uploads the bundle of a commit from randomCommit(), or, for any other label, bytes that are not a git bundle. */
export async function uploadBundle(server: string, label: string): Promise<string> {
  const bytes = bundles.get(label) ?? new TextEncoder().encode(`# v2 git bundle\n${label}\n`);
  const sha = createHash('sha256').update(bytes).digest('hex');
  await call(server, 'PUT', `/v1/blobs/sha256:${sha}`, bytes);
  return `sha256:${sha}`;
}

export function attestation(claimId: string, commit: string, value: number, verifier: Key): DsseEnvelope {
  const finished = new Date(Date.now() - 60_000);
  const statement = buildReplayStatement({
    commit,
    modelSha256: null,
    predicate: {
      task: TASK,
      claimId,
      metric: 'correct',
      runs: [{ seed: 0, value }],
      environment: {
        gpu: 'cpu',
        driver: null,
        runtimes: { python: '3.11.2' },
        runnerVersion: 'recheck-test/1',
        // The example task's pack pins: only an attestation that names them counts (environment_mismatch).
        harnessSha256: EXAMPLE_PINS.harnessSha256,
        datasetSha256: EXAMPLE_PINS.datasetSha256,
        sandboxProfileSha256: 'c'.repeat(64),
      },
      startedAt: new Date(finished.getTime() - 60_000).toISOString().replace(/\.\d+Z$/, 'Z'),
      finishedAt: finished.toISOString().replace(/\.\d+Z$/, 'Z'),
    },
  });
  return signAttestation(statement, verifier.secretKey);
}

export type SubmittedClaim = { id: string; commit: string; status: string; envelope: DsseEnvelope };

/** Signs and posts a claim of `value` for `commit`, with the evidence made for its id (attestations name the claim). */
async function submitSigned(
  server: string,
  submitter: Key,
  commit: string,
  value: number,
  evidenceFor: (claimId: string) => unknown[],
): Promise<SubmittedClaim> {
  const payload: ClaimPayload = {
    v: 1,
    task: TASK,
    commit,
    parent: null,
    beatsParent: false,
    metric: { name: 'correct', value },
    submitter: submitter.hex,
    createdAt: new Date(Date.now() - 300_000).toISOString(),
    bundle: await uploadBundle(server, commit),
  };
  const envelope = signClaim(payload, submitter.secretKey);
  const id = claimIdOf(fromBase64(envelope.payload, 'payload'));
  const res = await postClaim(server, id, withIntake({ claim: envelope, evidence: evidenceFor(id) }, submitter.secretKey, await logOrigin(server)));
  return { id, commit, status: String(res.status), envelope };
}

/** A claim whose evidence is attestations by `verifiers` measuring exactly the claimed value. */
export function submitAttested(server: string, submitter: Key, commit: string, value: number, verifiers: Key[]): Promise<SubmittedClaim> {
  return submitSigned(server, submitter, commit, value, (id) => verifiers.map((v) => ({ type: 'attestation', envelope: attestation(id, commit, value, v) })));
}

/** The committed zk fixture (test/zk/fixtures): its proof binds task, commit and submitter, not the bundle. */
export async function submitZkFixture(server: string): Promise<SubmittedClaim> {
  const dir = join(import.meta.dirname, '..', 'zk', 'fixtures');
  const fixture = JSON.parse(readFileSync(join(dir, 'claim.json'), 'utf8')) as ClaimPayload;
  const evidence = JSON.parse(readFileSync(join(dir, 'valid-evidence.json'), 'utf8')) as unknown;
  // The fixture's commit is syntheticCommit('zk-fixture') (make-fixtures.ts); its claim names that bundle.
  const zk = syntheticCommit('zk-fixture');
  bundles.set(zk.commit, zk.bundle);
  const payload = { ...fixture, bundle: await uploadBundle(server, fixture.commit) };
  const fixtureSecret = new Uint8Array(32).fill(7);
  const envelope = signClaim(payload, fixtureSecret);
  const res = await call(server, 'POST', '/v1/claims', withIntake({ claim: envelope, evidence: [evidence] }, fixtureSecret, await logOrigin(server)));
  return { id: claimIdOf(fromBase64(envelope.payload, 'payload')), commit: payload.commit, status: String(res.status), envelope };
}

/** Posts a claim; when it would go to replay the server asks for a proof-of-work stamp, which is mined here. */
async function postClaim(server: string, claimId: string, body: Record<string, unknown>) {
  const res = await fetch(new URL('/v1/claims', server), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as { error?: { code: string; details?: { requiredBits?: number } } } & Record<string, unknown>;
  if (res.status === 428 && json.error?.details?.requiredBits) {
    const { stamp } = mineStamp(claimId, json.error.details.requiredBits);
    return call(server, 'POST', '/v1/claims', { ...body, stamp });
  }
  if (!res.ok) throw new Error(`POST /v1/claims: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** A claim with no evidence: it goes to the replay queue (with a proof-of-work stamp when the server asks). */
export function submitForReplay(server: string, submitter: Key, commit: string, value: number): Promise<SubmittedClaim> {
  return submitSigned(server, submitter, commit, value, () => []);
}

/** Plays a verifier worker over the signed-request API: lease the job, complete it with a signed replay result. */
export async function replayAsWorker(server: string, claim: SubmittedClaim, value: number, verifier: Key) {
  const worker = newWorkerInstanceId();
  // Audit jobs of other claims may come first; leasing them is harmless here (their leases just expire).
  type LeasedJob = { jobId: number; claim: { id: string } };
  let job = null as LeasedJob | null;
  for (let i = 0; i < 10 && job?.claim.id !== claim.id; i++) {
    const leased = await call(server, 'POST', '/v1/replay/lease', { request: signWorkerRequest(verifier.secretKey, { action: 'lease', worker, tasks: [TASK] }) });
    job = leased.job as LeasedJob | null;
    if (!job) break;
  }
  if (!job || job.claim.id !== claim.id) throw new Error(`no replay job for ${claim.id} in the queue`);
  return call(server, 'POST', `/v1/replay/jobs/${job.jobId}/complete`, {
    request: signWorkerRequest(verifier.secretKey, { action: 'complete', worker, jobId: job.jobId }),
    attestation: attestation(claim.id, claim.commit, value, verifier),
  });
}

export async function postAttestation(server: string, claimId: string, envelope: DsseEnvelope) {
  return call(server, 'POST', `/v1/claims/${claimId}/attestations`, { attestation: envelope });
}

/** A fresh commit in a real git bundle (test/helpers/git-objects.ts), which uploadBundle(server, commit) uploads. */
export const randomCommit = () => {
  const c = syntheticCommit(randomBytes(8).toString('hex'));
  bundles.set(c.commit, c.bundle);
  return c.commit;
};

type Row = Record<string, unknown>;

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}
export type Sql = (query: string, params?: unknown[]) => Promise<Row[]>;

/**
 * A server whose database can be edited behind its back. On PGlite (one process per data folder) the server is
 * stopped for the edit and started again on the same folder, keys and port-0 address.
 */
export class TamperableServer {
  server!: ServerProcess;
  constructor(
    readonly env: Record<string, string>,
    readonly dataDir: string,
    readonly databaseUrl: string | undefined,
  ) {}

  /** The C2SP vkey the server printed at start (read once: the key never changes across restarts). */
  logKey = '';

  static async start(dataDir: string, databaseUrl?: string) {
    // A fixed port across restarts: the re-check state is kept per server address.
    const env: Record<string, string> = {
      PORT: String(await freePort()),
      PROOFBOARD_DATA: dataDir,
      PROOFBOARD_OPERATOR_TOKEN: OPERATOR_TOKEN,
      PROOFBOARD_LOG_KEY: LOG_SEED_HEX,
      PROOFBOARD_LOG_ORIGIN: 'recheck-test.proofboard/log',
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    };
    const s = new TamperableServer(env, dataDir, databaseUrl);
    s.server = await startServer(env);
    // The key line follows the "serving" line that startServer waits for; it may arrive in a later chunk.
    for (let i = 0; i < 200 && !/log key: \S+\n/.test(s.server.output()); i++) await new Promise((r) => setTimeout(r, 50));
    const m = /log key: (\S+)\n/.exec(s.server.output());
    if (!m) throw new Error(`server printed no log key:\n${s.server.output()}`);
    s.logKey = m[1]!;
    return s;
  }

  get url() {
    return this.server.url;
  }

  async edit(fn: (sql: Sql) => Promise<void>): Promise<void> {
    if (this.databaseUrl) {
      const client = postgres(this.databaseUrl, { max: 1, onnotice: () => {} });
      try {
        await fn(async (q, p = []) => [...(await client.unsafe(q, p as never[]))] as Row[]);
      } finally {
        await client.end();
      }
      return;
    }
    await this.server.stop();
    const db = await PGlite.create(join(this.dataDir, 'pglite'));
    try {
      await fn(async (q, p = []) => (await db.query<Row>(q, p)).rows);
    } finally {
      await db.close();
    }
    this.server = await startServer(this.env);
  }

  /**
   * Runs the service's own code against the database with the log key: what an operator who holds both can do
   * (append verdicts that are properly logged and signed).
   */
  async asOperator(fn: (ctx: AppContext) => Promise<void>): Promise<void> {
    const run = async () => {
      const database = await openDatabase({ url: this.databaseUrl, dataDir: this.dataDir });
      const config = loadConfig({ ...process.env, ...this.env });
      const built = await buildContext(config, database, loadSecrets(this.dataDir, { ...process.env, ...this.env }));
      // buildContext reads the origin from this process's environment; the server's is in this.env.
      const ctx: AppContext = { ...built, logSigner: { ...built.logSigner, origin: this.env.PROOFBOARD_LOG_ORIGIN! } };
      try {
        await fn(ctx);
      } finally {
        await database.close();
      }
    };
    if (this.databaseUrl) return run();
    await this.server.stop();
    try {
      await run();
    } finally {
      this.server = await startServer(this.env);
    }
  }

  stop() {
    return this.server.stop();
  }
}

/**
 * A TamperableServer on a fresh data folder (and, on PostgreSQL, a fresh database); what it creates is removed by the
 * cleanups it pushes.
 */
export async function startTamperableServer(kind: 'pglite' | 'postgres', cleanups: (() => Promise<unknown> | void)[], prefix = 'proofboard-recheck-') {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  let url: string | undefined;
  if (kind === 'postgres') {
    const pg = await createPostgresDatabase();
    url = pg.url;
    cleanups.push(pg.drop);
  }
  const s = await TamperableServer.start(dataDir, url);
  cleanups.push(() => s.stop());
  return { s, dataDir };
}
