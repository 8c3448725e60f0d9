// proofboard submit: bundles a commit of the current repository, uploads it, signs the claim and posts it.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { signClaim, type ClaimPayload } from '../attest/claim.ts';
import { apiRequest } from './http-client.ts';
import { defaultKeyPath, readKeyFile } from './key-file.ts';

const USAGE = `usage: proofboard submit --task T --metric VALUE [--metric-name NAME] [--parent COMMIT] [--beats-parent]
                         [--evidence FILE]... [--key FILE] [--server URL] [--repo DIR] [COMMIT]`;

export async function submitCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      server: { type: 'string', default: process.env.PROOFBOARD_SERVER ?? 'http://127.0.0.1:8080' },
      task: { type: 'string' },
      metric: { type: 'string' },
      'metric-name': { type: 'string' },
      parent: { type: 'string' },
      'beats-parent': { type: 'boolean', default: false },
      evidence: { type: 'string', multiple: true, default: [] },
      key: { type: 'string', default: defaultKeyPath() },
      repo: { type: 'string', default: process.cwd() },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.task || values.metric === undefined || positionals.length > 1) {
    console.error(USAGE);
    return 2;
  }
  const metricValue = Number(values.metric);
  if (!Number.isFinite(metricValue)) {
    console.error(`--metric must be a finite number, got ${JSON.stringify(values.metric)}`);
    return 2;
  }
  const key = readKeyFile(values.key);
  const repo = values.repo;
  const commit = git(repo, ['rev-parse', '--verify', `${positionals[0] ?? 'HEAD'}^{commit}`]).trim();
  const parent = values.parent ? git(repo, ['rev-parse', '--verify', `${values.parent}^{commit}`]).trim() : null;
  const metricName = values['metric-name'] ?? (await taskMetricName(values.server, values.task));
  const evidence = values.evidence.map((file) => JSON.parse(readFileSync(file, 'utf8')) as unknown);

  const bundle = makeBundle(repo, commit);
  const digest = createHash('sha256').update(bundle).digest('hex');
  await apiRequest(values.server, 'PUT', `/v1/blobs/sha256:${digest}`, bundle);

  const claim: ClaimPayload = {
    v: 1,
    task: values.task,
    commit,
    parent,
    beatsParent: values['beats-parent'],
    metric: { name: metricName, value: metricValue },
    submitter: key.publicKeyHex,
    createdAt: new Date().toISOString(),
    bundle: `sha256:${digest}`,
  };
  const envelope = signClaim(claim, key.secretKey);
  const res = await apiRequest<{ id: string; status: string; verdict: { rule: string; reasonCode: string | null } | null }>(
    values.server,
    'POST',
    '/v1/claims',
    { claim: envelope, evidence },
  );
  if (values.json) console.log(JSON.stringify(res.body));
  else {
    console.log(`claim ${res.body.id}`);
    console.log(`status ${res.body.status}${res.body.verdict ? ` (${res.body.verdict.reasonCode ?? res.body.verdict.rule})` : ''}`);
  }
  return 0;
}

async function taskMetricName(server: string, task: string): Promise<string> {
  const res = await apiRequest<{ metricName: string }>(server, 'GET', `/v1/tasks/${encodeURIComponent(task)}`);
  return res.body.metricName;
}

function git(repo: string, args: string[]): string {
  return execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A git bundle holding exactly the commit and its history, under a temporary ref removed afterwards. */
function makeBundle(repo: string, commit: string): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'proofboard-bundle-'));
  const ref = `refs/proofboard/submit-${process.pid}`;
  try {
    git(repo, ['update-ref', ref, commit]);
    git(repo, ['bundle', 'create', '--quiet', join(dir, 'commit.bundle'), ref]);
    return readFileSync(join(dir, 'commit.bundle'));
  } finally {
    try {
      git(repo, ['update-ref', '-d', ref]);
    } catch {
      // The ref may not exist if update-ref itself failed; nothing to clean.
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
