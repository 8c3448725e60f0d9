// proofboard submit: bundles a commit of the current repository, uploads it, signs the claim and posts it.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SingleBar, Presets } from 'cli-progress';
import { claimIdOf, signClaim, type ClaimPayload } from '../attest/claim.ts';
import { signIntake } from '../attest/intake.ts';
import { evidenceDigest } from '../verdict/evidence-digest.ts';
import { mineStamp, type Stamp } from '../attest/stamp.ts';
import { ApiError, apiRequest } from './http-client.ts';
import { defaultKeyPath, readKeyFile } from './key-file.ts';
import { serverUrlFromEnv } from '../config.ts';
import { bindingProblems, claimProblems, readEvidenceFiles, SubmitRefused, type TaskFacts } from './submit-checks.ts';
import { UsageError } from './usage.ts';

export const USAGE = `usage: proofboard submit --task T --metric VALUE [--metric-name NAME] [--parent COMMIT] [--beats-parent]
                         [--evidence FILE]... [--key FILE] [--server URL] [--repo DIR] [--json] [COMMIT]

  COMMIT          the commit the claim is about (default HEAD of --repo)
  --task T        the task's id;  --metric VALUE  the value the commit reaches
  --metric-name   the task's metric (default: read from the task)
  --parent C      the commit this one builds on;  --beats-parent  claim it beats the parent (needs --parent, and a task
                  whose policy asks 2 or more runs, which the statistical test needs)
  --evidence F    a zk proof (proofboard prove) or an attestation; repeatable. Without evidence the claim is replayed
  --key FILE      the submitter key (default $PROOFBOARD_KEY or ~/.config/proofboard/key.json)
  --server URL    the service (default $PROOFBOARD_SERVER or http://127.0.0.1:8080);  --repo DIR  the repository (.)
  --json          print the server's answer as JSON

  Before anything is uploaded, the evidence is checked against the claim (task, commit, key, claim id, value) and the
  task (metric, beats-parent): a rejection counts against the key for good. The same submit twice is one claim.
  Exit codes: 0 accepted or pending, 1 rejected or refused, 2 usage, 3 server unreachable (docs/cli.md).`;

export async function submitCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      server: { type: 'string', default: serverUrlFromEnv() },
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
  // The claim schema's bounds (src/attest/claim.ts): a value outside them could only be refused.
  if (!Number.isFinite(metricValue) || Math.abs(metricValue) > 1e12) {
    throw new UsageError(`--metric must be a finite number within ±1e12, got ${JSON.stringify(values.metric)}`);
  }
  if (values['beats-parent'] && !values.parent) throw new UsageError('--beats-parent needs --parent COMMIT: the claim is tested against the parent');
  const key = readKeyFile(values.key);
  const repo = values.repo;
  const commit = git(repo, ['rev-parse', '--verify', `${positionals[0] ?? 'HEAD'}^{commit}`]).trim();
  const parent = values.parent ? git(repo, ['rev-parse', '--verify', `${values.parent}^{commit}`]).trim() : null;
  // Local checks first, before any request: a refusal here costs the key nothing.
  const files = readEvidenceFiles(values.evidence);
  const bound = bindingProblems(files, { task: values.task, commit, submitter: key.publicKeyHex });
  if (bound.length) throw new SubmitRefused(bound);
  warnIfUncommitted(repo, commit);
  const task = await apiRequest<TaskFacts>(values.server, 'GET', `/v1/tasks/${encodeURIComponent(values.task)}`);
  const metricName = values['metric-name'] ?? task.body.metricName;
  const evidence = files.map((f) => f.item);

  const bundle = makeBundle(repo, commit);
  const digest = createHash('sha256').update(bundle).digest('hex');

  const claim: ClaimPayload = {
    v: 1,
    task: values.task,
    commit,
    parent,
    beatsParent: values['beats-parent'],
    metric: { name: metricName, value: metricValue },
    submitter: key.publicKeyHex,
    // The commit's own date, not the clock: running the same submit twice signs the same bytes, hence one claim.
    createdAt: committerDate(repo, commit),
    bundle: `sha256:${digest}`,
  };
  const envelope = signClaim(claim, key.secretKey);
  const claimId = claimIdOf(Buffer.from(envelope.payload, 'base64'));
  const refused = claimProblems(files, claim, claimId, task.body);
  if (refused.length) throw new SubmitRefused(refused);
  await apiRequest(values.server, 'PUT', `/v1/blobs/sha256:${digest}`, bundle);
  // Bound to this evidence and this server's log, so nobody who sees the claim can post it first with other evidence
  // (burning it in our name) or post it to another deployment (src/attest/intake.ts). Ed25519 is deterministic, so a
  // resubmission is byte-identical.
  const audience = await logOrigin(values.server);
  const intake = signIntake({ claimId, audience, evidence: evidence.map((item) => evidenceDigest(item)) }, key.secretKey, key.publicKeyHex);
  // Without evidence the claim goes to replay and needs a stamp; with evidence, mine only if the server asks.
  let stamp = evidence.length === 0 ? mineWithProgress(claimId, await taskStampBits(values.server, values.task)) : undefined;
  let res;
  for (let attempt = 0; ; attempt++) {
    try {
      res = await apiRequest<SubmitAnswer>(values.server, 'POST', '/v1/claims', { claim: envelope, intake, evidence, ...(stamp ? { stamp } : {}) });
      break;
    } catch (e) {
      const required = e instanceof ApiError ? e.details.requiredBits : undefined;
      // The difficulty rises with the queue: when it moved between our read and our post, mine again, a few times.
      if (attempt < 3 && typeof required === 'number' && (e as ApiError).code.match(/^(stamp_required|bad_stamp)$/)) {
        stamp = mineWithProgress(claimId, required);
        continue;
      }
      throw e;
    }
  }
  if (values.json) console.log(JSON.stringify(res.body));
  else {
    console.log(`claim ${res.body.id}${res.body.created === false ? ' (already submitted: the same claim)' : ''}`);
    console.log(`status ${res.body.status}${res.body.verdict ? ` (${res.body.verdict.reasonCode ?? res.body.verdict.rule})` : ''}`);
    console.log(`${new URL(`/claims/${res.body.id}`, values.server)}`);
  }
  // A rejected claim is a failed submission for scripts too (docs/cli.md).
  return res.body.status === 'rejected' ? 1 : 0;
}

/** The claim is about a commit, not the working tree: say so when they differ, since the score was likely measured on the tree. */
function warnIfUncommitted(repo: string, commit: string): void {
  const head = git(repo, ['rev-parse', 'HEAD']).trim();
  const dirty = git(repo, ['status', '--porcelain', '--untracked-files=no']).trim();
  if (head === commit && dirty) {
    console.error(`warning: ${repo} has uncommitted changes; the claim is about commit ${commit.slice(0, 12)} as committed, not your working tree`);
  }
}

type SubmitAnswer = { id: string; status: string; created?: boolean; verdict: { rule: string; reasonCode: string | null } | null };

async function taskStampBits(server: string, task: string): Promise<number> {
  const res = await apiRequest<{ stamp?: { bits: number } }>(server, 'GET', `/v1/tasks/${encodeURIComponent(task)}`);
  return res.body.stamp?.bits ?? 0;
}

/** Mines a stamp on this process's one thread, with a bar on stderr and an estimate of the time left. */
function mineWithProgress(claimId: string, bits: number): Stamp | undefined {
  if (bits <= 0) return undefined;
  const expected = 2 ** bits;
  const bar = new SingleBar(
    { format: 'proof of work [{bar}] {percentage}% of expected | {value}/{total} hashes | ETA {eta_formatted}', stream: process.stderr, etaBuffer: 20 },
    Presets.shades_classic,
  );
  const show = process.stderr.isTTY && bits >= 16;
  if (show) bar.start(expected, 0);
  const { stamp, attempts } = mineStamp(claimId, bits, (n) => {
    if (!show) return;
    // Past the expected count the bar would stall at 100%: stretch the total so the estimate stays honest.
    if (n > bar.getTotal()) bar.setTotal(n * 2);
    bar.update(n);
  });
  if (show) {
    bar.update(attempts);
    bar.stop();
  }
  return stamp;
}

/** The log origin the server signs its checkpoints with: the audience our intake names. */
async function logOrigin(server: string): Promise<string> {
  const res = await apiRequest<{ origin: string }>(server, 'GET', '/v1/log/key');
  return res.body.origin;
}

/** The committer date as the claim schema wants it (UTC, milliseconds), from git's strict ISO form. */
function committerDate(repo: string, commit: string): string {
  return new Date(git(repo, ['show', '-s', '--format=%cI', commit]).trim()).toISOString();
}

function git(repo: string, args: string[]): string {
  return execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A git bundle holding exactly the commit and its history, under a temporary ref removed afterwards. */
function makeBundle(repo: string, commit: string): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'proofboard-bundle-'));
  // Named by the commit, not the process: the same commit gives the same bundle bytes in every run, hence the same
  // bundle digest and the same claim id (a resubmission is one claim).
  const ref = `refs/proofboard/claim-${commit}`;
  try {
    git(repo, ['update-ref', ref, commit]);
    git(repo, ['-c', 'pack.threads=1', 'bundle', 'create', '--quiet', join(dir, 'commit.bundle'), ref]);
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
