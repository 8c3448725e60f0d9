// The one-file recheck (scripts/build-recheck.ts -> proofboard-recheck.cjs), built here and run with `node` from a
// folder holding nothing else, against a real server: it re-checks the task through the bulk read, proofs included,
// and catches an entry edited in the server's database. Also the bulk reads themselves: each bundle line, completed
// with the answer's head and task, is exactly the claim's single bundle; malformed or unknown requests get a 4xx.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { fromBase64 } from '../../src/attest/bytes.ts';
import { claimIdOf, signClaim, type ClaimPayload } from '../../src/attest/claim.ts';
import { firstRequests } from '../../src/cli/early-answers.ts';
import { MAX_RESPONSE_BYTES } from '../../src/cli/http-client.ts';
import { nodeHttpFetch } from '../../src/cli/node-http-fetch.ts';
import { recheckCommand } from '../../src/cli/recheck-command.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { logOrigin, withIntake } from '../helpers/claims.ts';
import { syntheticCommit } from '../helpers/git-objects.ts';
import {
  keyFrom,
  randomCommit,
  registerVerifier,
  startTamperableServer,
  submitAttested,
  TASK,
  type SubmittedClaim,
  type TamperableServer,
} from './recheck-helpers.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..', '..');

type Check = { id: string; status: string; detail: string };
type Report = { ok: boolean; log: Check[]; claims: { claimId: string; ok: boolean; checks: Check[] }[] };
type Line = { kind: string; [k: string]: unknown };

// Built once for the file, into a folder that then holds only the built file.
let folder: string;
let oneFile: string;
beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), 'proofboard-one-file-'));
  oneFile = join(folder, 'proofboard-recheck.cjs');
  await run(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'build-recheck.ts'), '--out', oneFile], { cwd: ROOT });
}, 120_000);
afterAll(() => rmSync(folder, { recursive: true, force: true }));

it('builds reproducibly: a second build, elsewhere, gives the same bytes', async () => {
  // The file carries V8's compiled code (made under --predictable) and the recorded mcl set-up: neither may depend on
  // the run that made it or on where the file is written, or nobody could check a published file against its commit.
  const elsewhere = mkdtempSync(join(tmpdir(), 'proofboard-one-file-again-'));
  try {
    const again = join(elsewhere, 'again.cjs');
    // Another heap size in NODE_OPTIONS would change V8's flags under the cache: the build must not let it in.
    await run(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'build-recheck.ts'), '--out', again], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=512' },
    });
    expect(readFileSync(again).equals(readFileSync(oneFile))).toBe(true);
  } finally {
    rmSync(elsewhere, { recursive: true, force: true });
  }
}, 120_000);

/** `node proofboard-recheck.cjs ...` in the folder, with an environment that names nothing of the repository. */
async function oneFileRecheck(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [oneFile, ...args], {
      cwd: folder,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: folder, ...env },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

async function bulk(server: string, path: string): Promise<Line[]> {
  const res = await fetch(new URL(path, server));
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
  return (await res.text())
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);
}

/** The committed zk fixture (test/zk/fixtures, proven for syntheticCommit('zk-fixture')) posted with its real bundle. */
async function submitZk(server: string): Promise<SubmittedClaim> {
  const dir = join(ROOT, 'test', 'zk', 'fixtures');
  const fixture = JSON.parse(readFileSync(join(dir, 'claim.json'), 'utf8')) as ClaimPayload;
  const evidence = JSON.parse(readFileSync(join(dir, 'valid-evidence.json'), 'utf8')) as unknown;
  const made = syntheticCommit('zk-fixture');
  expect(made.commit).toBe(fixture.commit);
  expect((await fetch(new URL(`/v1/blobs/${made.bundleRef}`, server), { method: 'PUT', body: made.bundle as unknown as BodyInit })).ok).toBe(true);
  const secret = new Uint8Array(32).fill(7);
  const envelope = signClaim({ ...fixture, bundle: made.bundleRef }, secret);
  const body = withIntake({ claim: envelope, evidence: [evidence] }, secret, await logOrigin(server));
  const res = await fetch(new URL('/v1/claims', server), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as { status?: string };
  expect(res.status, JSON.stringify(json)).toBeLessThan(300);
  return { id: claimIdOf(fromBase64(envelope.payload, 'payload')), commit: fixture.commit, status: String(json.status), envelope };
}

describe.each(databaseKinds())('the one-file recheck against a real server on %s', (kind) => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  let s: TamperableServer;
  let state: string;
  const claims: SubmittedClaim[] = [];
  const [alice, bob] = [keyFrom('alice'), keyFrom('bob')];

  beforeAll(async () => {
    let dataDir: string;
    ({ s, dataDir } = await startTamperableServer(kind, cleanups, 'proofboard-one-file-server-'));
    state = join(dataDir, 'recheck-state.json');
    await registerVerifier(s.url, 'alice', alice);
    await registerVerifier(s.url, 'bob', bob);
    const submitter = keyFrom('submitter');
    for (const value of [80, 81, 82]) claims.push(await submitAttested(s.url, submitter, randomCommit(), value, [alice, bob]));
    claims.push(await submitZk(s.url));
    for (const c of claims) expect(c.status).toBe('verified');
  }, 180_000);
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('a bulk answer rebuilds every claim bundle exactly, against one checkpoint', async () => {
    const lines = await bulk(s.url, `/v1/tasks/${TASK}/bundles`);
    const [head, ...rest] = lines;
    expect(head!.kind).toBe('head');
    expect(rest.at(-1)).toEqual({ kind: 'end', bundles: claims.length, skipped: [] });
    const taskLine = rest.find((l) => l.kind === 'task') as unknown as { task: { id: string; definitionLogIndex: number }; taskLeaves: { index: number }[] };
    const { task, taskLeaves } = taskLine;
    // The task's leaves come once, with its task; a single bundle carries them among its leaves.
    expect(taskLeaves.map((l) => l.index)).toContain(task.definitionLogIndex);
    const bundles = rest.filter((l) => l.kind === 'bundle').map((l) => l.bundle as { claim: { id: string }; log: { leaves: unknown[] } });
    expect(bundles.map((b) => b.claim.id).sort()).toEqual(claims.map((c) => c.id).sort());
    for (const b of bundles) {
      const single = (await (await fetch(new URL(`/v1/claims/${b.claim.id}/bundle`, s.url))).json()) as Record<string, unknown>;
      const leaves = [...taskLeaves, ...b.log.leaves].sort((x, y) => (x as { index: number }).index - (y as { index: number }).index);
      const rebuilt = { ...b, task, verifierKeys: head!.verifierKeys, log: { checkpoint: head!.checkpoint, treeSize: head!.treeSize, leaves } };
      // Same fields, same values: a field added to one bundle and not the other fails here.
      expect(rebuilt).toEqual(single);
    }
    const range = await bulk(s.url, `/v1/log/bundles?start=0&end=${head!.treeSize}`);
    expect(range.filter((l) => l.kind === 'bundle')).toHaveLength(claims.length);
    expect(range.at(-1)!.kind).toBe('end');
  });

  it('refuses malformed or unknown bulk reads with a 4xx and a code', async () => {
    const code = async (path: string) => {
      const res = await fetch(new URL(path, s.url));
      return [res.status, ((await res.json()) as { error: { code: string } }).error.code];
    };
    expect(await code('/v1/tasks/no-such-task/bundles')).toEqual([404, 'unknown_task']);
    expect(await code('/v1/tasks/NOT..valid/bundles')).toEqual([400, 'bad_request']);
    expect(await code('/v1/log/bundles?start=5&end=2')).toEqual([400, 'bad_query']);
    expect(await code('/v1/log/bundles?start=0&end=5000')).toEqual([400, 'bad_query']);
    expect(await code('/v1/log/bundles?start=-1&end=2')).toEqual([400, 'bad_request']);
    expect(await code('/v1/log/bundles?start=0')).toEqual([400, 'bad_request']);
  });

  it('runs with node alone from a folder holding nothing else, and every check passes', async () => {
    expect(readdirSync(folder)).toEqual(['proofboard-recheck.cjs']);
    // Nothing to resolve outside the file: the loader and the script it carries require only Node's own modules.
    const text = readFileSync(oneFile, 'latin1');
    const { code } = JSON.parse(text.slice(text.lastIndexOf('\n/*') + 3, text.lastIndexOf('*/'))) as { code: string };
    const required = [...`${text.slice(0, text.lastIndexOf('\n/*'))}\n${code}`.matchAll(/\brequire\(\s*["'`]([^"'`]+)["'`]\s*\)/g)].map((m) => m[1]!);
    expect(required).toContain('node:vm');
    expect(required.filter((r) => !isBuiltin(r))).toEqual([]);
    expect(code).not.toMatch(/\bimport\(/);

    const r = await oneFileRecheck(['--task', TASK, '--server', s.url, '--log-key', s.logKey, '--state', state, '--json']);
    const report = JSON.parse(r.stdout || '{}') as Report;
    expect(r.code, r.stderr + JSON.stringify(report, null, 1)).toBe(0);
    expect(report.claims.map((c) => c.claimId).sort()).toEqual(claims.map((c) => c.id).sort());
    expect(report.log.find((c) => c.id === 'bulk.read')).toMatchObject({ status: 'pass' });
    const zk = report.claims.find((c) => c.claimId === claims[3]!.id)!;
    expect(zk.checks.find((c) => c.id === 'zk.proofs')).toMatchObject({ status: 'pass' });
    expect(zk.checks.find((c) => c.id === 'zk.proofs')!.detail).toMatch(/verifies/);

    const one = await oneFileRecheck([claims[3]!.id, '--server', s.url, '--log-key', s.logKey, '--state', state, '--json']);
    expect(one.code, one.stdout + one.stderr).toBe(0);
    // Built with this node, so V8 takes the compiled code the file carries, and mcl's set-up comes from its recording
    // (scripts/build-recheck.ts): found out by the file itself, as a user runs it.
    expect((await oneFileRecheck(['--version'])).stdout).toMatch(
      /^proofboard-recheck built from commit \S+; compiled code cache used; pairing library set-up from its recording$/m,
    );
    // What runs is the compiled code, which V8 checks against the script's length only: a copy whose script text was
    // changed (same length) still prints the built usage line, and with PROOFBOARD_RECHECK_CODE_CACHE=off the changed
    // text runs. So a copy is trusted by its hash against a rebuild, and the switch does run the script's own text.
    const edited = join(folder, '..', `edited-${kind}.cjs`);
    const built = readFileSync(oneFile, 'latin1');
    expect(built.split('proofboard recheck CLAIM_ID').length).toBe(2);
    writeFileSync(edited, built.replace('proofboard recheck CLAIM_ID', 'proofboard RECHECK CLAIM_ID'), 'latin1');
    try {
      const help = async (env: Record<string, string>) => (await run(process.execPath, [edited, '--help'], { env: { PATH: process.env.PATH ?? '', ...env } })).stdout;
      expect(await help({})).toMatch(/^proofboard recheck CLAIM_ID/);
      expect(await help({ PROOFBOARD_RECHECK_CODE_CACHE: 'off' })).toMatch(/^proofboard RECHECK CLAIM_ID/);
    } finally {
      rmSync(edited, { force: true });
    }
    // The script alone checks the same and says so.
    const off = { PROOFBOARD_RECHECK_CODE_CACHE: 'off' };
    expect((await oneFileRecheck(['--version'], off)).stdout).toMatch(/compiled code cache not used \(PROOFBOARD_RECHECK_CODE_CACHE=off\)/);
    const plain = await oneFileRecheck([claims[3]!.id, '--server', s.url, '--log-key', s.logKey, '--state', state, '--json'], off);
    expect(plain.code, plain.stdout + plain.stderr).toBe(0);
    expect((JSON.parse(plain.stdout) as Report).claims[0]!.checks.find((c) => c.id === 'zk.proofs')).toMatchObject({ status: 'pass' });
  }, 120_000);

  it("exits as `proofboard recheck` does: 0 for help, 2 for a wrong command line, 3 when the server can't be reached", async () => {
    // --help or -h anywhere: the usage, exit 0, as main.ts gives it.
    for (const argv of [['-h'], ['--help', '--bogus'], [claims[0]!.id, '--help']]) {
      const help = await oneFileRecheck(argv);
      expect(help.code, argv.join(' ')).toBe(0);
      expect(help.stdout).toMatch(/^proofboard recheck CLAIM_ID/);
    }
    const bogus = await oneFileRecheck([claims[0]!.id, '--bogus']);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toMatch(/^proofboard recheck: unknown option --bogus/);
    expect((await oneFileRecheck([claims[0]!.id, '--log-key', 'not-a-key', '--server', s.url])).code).toBe(2);
    const down = await oneFileRecheck([claims[0]!.id, '--server', 'http://127.0.0.1:1', '--log-key', s.logKey, '--state', join(folder, '..', `down-${kind}.json`)]);
    expect(down.code, down.stderr).toBe(3);
    expect(down.stderr).toMatch(/^proofboard recheck: .*unreachable/);
  });

  it('re-checks a named zk claim over https, as a third party reaches a real board', async () => {
    // A TLS front for the test server, with a certificate made here and trusted through NODE_EXTRA_CA_CERTS: the one
    // file loads node:https only for an https server, so only this reaches that path.
    const tls = mkdtempSync(join(tmpdir(), 'proofboard-one-file-tls-'));
    cleanups.push(() => rmSync(tls, { recursive: true, force: true }));
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', join(tls, 'key.pem'), '-out', join(tls, 'cert.pem')]);
    const front = createHttpsServer({ key: readFileSync(join(tls, 'key.pem')), cert: readFileSync(join(tls, 'cert.pem')) }, (req, res) => {
      const upstream = httpRequest(new URL(req.url ?? '/', s.url), { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => front.close(r)));
    const httpsUrl = `https://localhost:${(front.address() as { port: number }).port}`;
    const r = await oneFileRecheck([claims[3]!.id, '--server', httpsUrl, '--log-key', s.logKey, '--state', join(tls, 'state.json'), '--json'], {
      NODE_EXTRA_CA_CERTS: join(tls, 'cert.pem'),
    });
    const report = JSON.parse(r.stdout || '{}') as Report;
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(report.claims[0]!.checks.find((c) => c.id === 'zk.proofs')).toMatchObject({ status: 'pass' });
    // Without the certificate trusted, nothing is checked: the server is unreachable, said so, exit 3.
    const untrusted = await oneFileRecheck([claims[3]!.id, '--server', httpsUrl, '--log-key', s.logKey, '--state', join(tls, 'state2.json'), '--json']);
    expect(untrusted.code, untrusted.stderr).toBe(3);
    expect(untrusted.stderr).toMatch(/unreachable/);
  }, 120_000);

  it('asks first for exactly the answers the one file asks for before its checks load', async () => {
    // The one file asks for these as it starts (src/cli/early-answers.ts); the command, once loaded, must ask for the
    // same ones first, or they are wasted and the start is as slow as before. Recorded here through the command itself.
    const state = join(folder, '..', `early-${kind}.json`);
    const named = [claims[3]!.id, claims[0]!.id, '--server', s.url, '--state', state, '--json'];
    // With the log key pinned, and on a first visit without one (trust on first use: the key is asked for first).
    for (const argv of [[...named, '--log-key', s.logKey], named]) {
      const http = nodeHttpFetch(MAX_RESPONSE_BYTES);
      const asked: string[] = [];
      const recording = ((input: URL | string, init?: RequestInit) => {
        const u = new URL(String(input));
        asked.push(`${init?.method ?? 'GET'} ${u.pathname}${u.search}`);
        return http(input, init);
      }) as typeof fetch;
      const first = firstRequests(argv)!;
      const log = vi.spyOn(console, 'log').mockImplementation(() => {});
      try {
        expect(await recheckCommand(argv, { fetchImpl: recording })).toBe(0);
      } finally {
        log.mockRestore();
        rmSync(state, { force: true });
      }
      expect(first.server).toBe(s.url);
      expect(first.paths).toContain(`/v1/claims/${claims[3]!.id}/bundle`);
      expect(asked.slice(0, first.paths.length).sort()).toEqual(first.paths.map((p) => `GET ${p}`).sort());
    }
  });

  it('catches an entry whose metric was edited in the database', async () => {
    const target = claims[1]!;
    await s.edit(async (sql) => {
      await sql('UPDATE claims SET metric_value = 99 WHERE id = $1', [target.id]);
    });
    const r = await oneFileRecheck(['--task', TASK, '--server', s.url, '--log-key', s.logKey, '--state', state, '--json']);
    const report = JSON.parse(r.stdout || '{}') as Report;
    expect(r.code).toBe(1);
    const bad = report.claims.find((c) => c.claimId === target.id)!;
    expect(bad.ok).toBe(false);
    expect(bad.checks.find((c) => c.id === 'claim.fields')).toMatchObject({ status: 'fail' });
    expect(bad.checks.find((c) => c.id === 'claim.fields')!.detail).toMatch(/metric\.value: server shows 99, submitter signed 81/);
    // The others still pass: one tampered entry fails alone.
    expect(report.claims.filter((c) => !c.ok).map((c) => c.claimId)).toEqual([target.id]);
  }, 120_000);

  it('checks a named zk claim as a board does: a proof changed in the database fails its pairing', async () => {
    // A few named claims run set up for a cold start (src/cli/recheck-one-file.ts tuneForColdStart, the pairing keys
    // prepared while the answers are awaited): the same checks must still catch a false proof. A and C swapped are
    // valid curve points, so only the pairing can refuse them.
    const target = claims[3]!;
    await s.edit(async (sql) => {
      await sql(
        `UPDATE evidence SET body = jsonb_set(jsonb_set(body, '{shards,0,proof,pi_a}', body #> '{shards,0,proof,pi_c}'), '{shards,0,proof,pi_c}', body #> '{shards,0,proof,pi_a}')
         WHERE claim_id = $1 AND kind = 'zk'`,
        [target.id],
      );
    });
    const r = await oneFileRecheck([target.id, '--server', s.url, '--log-key', s.logKey, '--state', state, '--json']);
    const report = JSON.parse(r.stdout || '{}') as Report;
    expect(r.code, r.stderr).toBe(1);
    const checks = report.claims[0]!.checks;
    expect(checks.find((c) => c.id === 'zk.proofs')!.detail).toMatch(/zk_pairing_failed/);
    expect(checks.find((c) => c.id === 'verdict.rule')).toMatchObject({ status: 'fail' });
  }, 120_000);
});
