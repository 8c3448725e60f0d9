// The operators' commands without a database: `proofboard attest` refuses to sign what a lying server says a claim
// is, and reads results strictly; `proofboard admin` refuses a token file others can read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attestCommand, readResultFile, toStatement, type ReplayResultFile } from '../../src/cli/attest-command.ts';
import { readOperatorToken } from '../../src/cli/admin-command.ts';
import { writeNewKeyFile } from '../../src/cli/key-file.ts';
import { claimIdOf } from '../../src/attest/claim.ts';
import { fromBase64 } from '../../src/attest/bytes.ts';
import { newKey, sha256Hex, signedClaim } from '../helpers/claims.ts';

const result: ReplayResultFile = {
  runs: [{ seed: 0, value: 91 }],
  environment: {
    gpu: 'cpu',
    driver: null,
    runtimes: { python: '3.12.3' },
    runnerVersion: 'proofboard-verifier/test',
    harnessSha256: sha256Hex('harness'),
    datasetSha256: sha256Hex('dataset'),
    sandboxProfileSha256: sha256Hex('sandbox'),
  },
  startedAt: '2026-11-27T08:00:00Z',
  finishedAt: '2026-11-27T08:10:00Z',
};

describe('proofboard attest and admin, offline', () => {
  const dir = mkdtempSync(join(tmpdir(), 'proofboard-cli-'));
  let server: Server;
  let url: string;
  let served: unknown = null;
  const posted: unknown[] = [];

  beforeAll(async () => {
    // A server that answers every bundle request with whatever envelope the test sets, and records posts.
    server = createServer((req, res) => {
      if (req.method === 'POST') {
        let body = '';
        req.on('data', (d) => (body += d));
        req.on('end', () => {
          posted.push(JSON.parse(body));
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ claimId: 'x', status: 'pending', method: null, verdict: null }));
        });
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ envelope: served }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const address = server.address() as { port: number };
    url = `http://127.0.0.1:${address.port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs only the claim whose signed payload hashes to the id asked for', async () => {
    const keyPath = join(dir, 'verifier.json');
    writeNewKeyFile(keyPath);
    const resultPath = join(dir, 'result.json');
    writeFileSync(resultPath, JSON.stringify(result));
    const asked = signedClaim(newKey(), { commit: 'a'.repeat(40) });
    const askedId = claimIdOf(fromBase64(asked.payload, 'payload'));
    const args = ['--claim', askedId, '--result', resultPath, '--key', keyPath, '--server', url];

    // The server substitutes another (validly signed) claim about another commit.
    served = signedClaim(newKey(), { commit: 'b'.repeat(40) });
    await expect(attestCommand(args)).rejects.toThrow(/returned claim [0-9a-f]{64} for [0-9a-f]{64}: not signing/);
    // Or tampers with the claim it has.
    served = { ...asked, signatures: [{ sig: asked.signatures[0]!.sig.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) }] };
    await expect(attestCommand(args)).rejects.toThrow(/does not verify/);
    expect(posted).toHaveLength(0);

    served = asked;
    expect(await attestCommand(args)).toBe(0);
    expect(posted).toHaveLength(1);
    const envelope = (posted[0] as { attestation: { payload: string } }).attestation;
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString()) as {
      subject: { digest: { gitCommit: string } }[];
      predicate: { claimId: string; task: string; metric: string };
    };
    expect(statement.subject[0]!.digest.gitCommit).toBe('a'.repeat(40));
    expect(statement.predicate).toMatchObject({ claimId: askedId, task: 'digits-mlp', metric: 'correct' });
  });

  it('reads result files strictly and names the field at fault', () => {
    const path = join(dir, 'bad-result.json');
    writeFileSync(path, JSON.stringify({ ...result, note: 'extra' }));
    expect(() => readResultFile(path)).toThrow(/Unrecognized key/);
    writeFileSync(path, JSON.stringify({ ...result, runs: [{ seed: 0, value: Number.MAX_VALUE }] }));
    expect(() => readResultFile(path)).toThrow(/runs\.0\.value/);
    writeFileSync(path, '{not json');
    expect(() => readResultFile(path)).toThrow(/not a JSON file/);
    const claim = { task: 'digits-mlp', commit: 'a'.repeat(40), metric: { name: 'correct' } };
    expect(() => toStatement(claim, 'f'.repeat(64), { ...result, finishedAt: '2026-11-27T07:00:00Z' })).toThrow(/finishedAt/);
    expect(() => toStatement(claim, 'f'.repeat(64), { ...result, startedAt: 'yesterday' })).toThrow(/startedAt/);
  });

  it('takes the operator token from a file only when no one else can read it', () => {
    const path = join(dir, 'token');
    writeFileSync(path, 'secret-token\n', { mode: 0o644 });
    expect(() => readOperatorToken(path, {})).toThrow(/readable by group or others/);
    const safe = join(dir, 'token-600');
    writeFileSync(safe, 'secret-token\n', { mode: 0o600 });
    expect(readOperatorToken(safe, { PROOFBOARD_OPERATOR_TOKEN: 'from-env' })).toBe('secret-token');
    expect(readOperatorToken(undefined, { PROOFBOARD_OPERATOR_TOKEN: 'from-env' })).toBe('from-env');
    expect(() => readOperatorToken(undefined, { PROOFBOARD_DATA: join(dir, 'nowhere') })).toThrow(/no operator token/);
  });
});
