// The GPU check: replays the example task's PyTorch trainer through the real replay sandbox on this machine's NVIDIA
// GPU and prints the signed, verified result. No server and no database: it bundles a repository holding
// train_torch.py and train.csv, runs the replay job exactly as a verifier worker does (checkout in the sandbox,
// training in the sandbox with the GPU passed in, the trusted harness scoring model.json), signs the statement with
// an ephemeral verifier key and checks it with the same verifyAttestation the service runs, against a one-key
// registry. Prints VERIFIED and exits 0, or FAILED and the reason.
//
//   npx tsx scripts/gpu-check.ts                         PyTorch on the GPU (the device check)
//   npx tsx scripts/gpu-check.ts --trainer stdlib --no-gpu   the standard-library trainer on CPU (check the check)
//
// scripts/build-gpu-check.sh bundles this file into .device/gpu-check.mjs for a GPU machine without Node.js.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { toHex } from '../src/attest/bytes.ts';
import { claimIdOf, signClaim, type ClaimPayload } from '../src/attest/claim.ts';
import { ed25519PublicKey, generateEd25519Key } from '../src/attest/ed25519.ts';
import type { VerifierKey } from '../src/attest/registry.ts';
import { signAttestation } from '../src/attest/statement.ts';
import { verifyAttestation } from '../src/attest/verify-attestations.ts';
import { packReplaySpecSchema } from '../src/attest/task-pack.ts';
import { loadTaskPack } from '../src/attest/task-pack-folder.ts';
import { runReplayJob, type JobInput } from '../src/replay/run-job.ts';
import { checkSandboxAvailable } from '../src/replay/sandbox.ts';

const TASK = 'digits-mlp-gpu-check';
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const { values } = parseArgs({
  options: {
    trainer: { type: 'string', default: 'torch' },
    'no-gpu': { type: 'boolean', default: false },
    python: { type: 'string' },
    'read-only': { type: 'string', multiple: true, default: [] },
    'pass-env': { type: 'string', multiple: true, default: ['LD_LIBRARY_PATH'] },
    runs: { type: 'string', default: '1' },
    epochs: { type: 'string' },
    data: { type: 'string', default: join(ROOT, 'examples', 'digits') },
    // Throwaway machines only: let the job's uid traverse the folders above a Python kept under, say, /root.
    'make-reachable': { type: 'boolean', default: false },
  },
});

const log = (line: string) => console.log(`[gpu-check] ${line}`);
function fail(why: string): never {
  console.log(`FAILED: ${why}`);
  process.exit(1);
}

function run(file: string, args: string[]): string | null {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    return null;
  }
}

const trainer = values.trainer === 'torch' ? 'train_torch.py' : values.trainer === 'stdlib' ? 'train.py' : fail('--trainer is torch or stdlib');
const gpus = !values['no-gpu'];
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 8) fail('--runs is 1..8');

// The interpreter the job runs. The sandbox shows /usr and the folders named below, nothing else of the host, so
// a Python outside /usr (a virtual environment under /opt, say) needs its folders mounted read-only.
const python = values.python ?? (values.trainer === 'torch' ? run('/bin/sh', ['-c', 'command -v python3']) : '/usr/bin/python3') ?? fail('no python3 on PATH');
const probe = run(python, [
  '-c',
  'import json, os, sys\n' +
    'out = {"python": sys.version.split()[0], "prefixes": sorted({sys.prefix, sys.base_prefix, os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))}), "path": [p for p in sys.path if os.path.isabs(p)]}\n' +
    // A first CUDA allocation as root makes the driver create /dev/nvidia-uvm, which the job's uid could not.
    'try:\n import torch\n out["torch"] = torch.__version__\n out["cuda"] = torch.version.cuda\n out["cuda_available"] = torch.cuda.is_available()\n out["torch_file"] = torch.__file__\n' +
    ' if out["cuda_available"]:\n  torch.zeros(1, device="cuda")\n  out["device"] = torch.cuda.get_device_name(0)\n' +
    'except Exception as e:\n out["torch_error"] = repr(e)\n' +
    'print(json.dumps(out))',
]);
if (probe === null) fail(`${python} does not run`);
const pythonInfo = JSON.parse(probe!) as { python: string; prefixes: string[]; path: string[]; torch?: string; cuda?: string | null; cuda_available?: boolean; torch_file?: string; torch_error?: string };
log(`python ${python}: ${JSON.stringify(pythonInfo)}`);
if (values.trainer === 'torch' && !pythonInfo.torch) fail(`${python} has no torch (${pythonInfo.torch_error}); pass --python`);

const outsideUsr = (p: string) => !/^\/usr(\/|$)/.test(p) && p !== '/';
const readOnlyPaths = [...new Set([...values['read-only'], ...pythonInfo.prefixes.filter(outsideUsr)].map((p) => realpathSync(p)))].filter(outsideUsr);
// The job's python path as the sandbox sees it: the same path, since each folder is mounted where it is.
const env: Record<string, string> = {};
for (const name of values['pass-env']) if (process.env[name]) env[name] = process.env[name]!;
log(`read-only mounts: ${JSON.stringify(readOnlyPaths)}; passed environment: ${JSON.stringify(env)}`);
for (const path of readOnlyPaths) {
  for (let dir = dirname(path); dir !== '/'; dir = dirname(dir)) {
    const mode = statSync(dir).mode;
    if (mode & 0o001) continue;
    if (!values['make-reachable']) fail(`${dir} (mode ${(mode & 0o777).toString(8)}) hides ${path} from the job's uid; chmod o+x it or pass --make-reachable`);
    log(`chmod o+x ${dir} so that the job's uid reaches ${path}`);
    chmodSync(dir, (mode & 0o7777) | 0o001);
  }
}

log(`node ${process.version}, ${run('uname', ['-srm'])}`);
const smi = gpus ? run('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader']) : null;
if (gpus) {
  log(`nvidia-smi: ${smi ?? 'not available'}`);
  log(`device nodes: ${run('/bin/sh', ['-c', 'ls /dev | grep -i nvidia | tr "\\n" " "']) ?? 'none'}`);
  if (!smi) fail('no NVIDIA GPU visible (nvidia-smi failed); use --no-gpu to check the rest on CPU');
}
const sandbox = await checkSandboxAvailable({ smoke: true });
if (!sandbox.available) fail(`sandbox unavailable: ${sandbox.missing.join('; ')}`);
log(`sandbox: bubblewrap ${run('/usr/bin/bwrap', ['--version'])}, cgroups ${run('/bin/sh', ['-c', 'stat -fc %T /sys/fs/cgroup'])}`);

// The submitter's repository: the trainer and its training data, one commit, bundled as a submitter would.
const repo = mkdtempSync(join(tmpdir(), 'proofboard-gpu-check-'));
for (const f of [trainer, 'train.csv']) {
  const from = join(values.data, f);
  if (!existsSync(from)) fail(`${from} is missing (--data)`);
  copyFileSync(from, join(repo, f));
}
const git = (...args: string[]) =>
  execFileSync('git', ['-C', repo, '-c', 'user.email=gpu-check@proofboard.invalid', '-c', 'user.name=gpu-check', ...args], { encoding: 'utf8' }).trim();
git('init', '-q');
git('add', trainer, 'train.csv');
git('commit', '-qm', `digits: ${trainer}`);
const commit = git('rev-parse', 'HEAD');
git('bundle', 'create', '-q', join(repo, 'commit.bundle'), 'HEAD');
const bundle = readFileSync(join(repo, 'commit.bundle'));
const bundleSha256 = createHash('sha256').update(bundle).digest('hex');
log(`repository ${commit} (${trainer}), bundle sha256:${bundleSha256} ${bundle.length} bytes`);

const trainArgs = ['--seed', '{seed}', '--out', '/work/model.json'];
if (values.epochs) trainArgs.push('--epochs', values.epochs);
// Ask for CUDA explicitly on the GPU run: a GPU that did not reach the sandbox must fail the check, not fall back.
if (values.trainer === 'torch') trainArgs.push('--device', gpus ? 'cuda' : 'cpu');
// The digits task's pack (examples/digits/pack): its harness scores the model in a second sandbox, as on the board.
const loadedPack = await loadTaskPack(join(values.data, 'pack'));
if (!loadedPack.ok) fail(`the digits pack: ${loadedPack.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
const { definition, files } = loadedPack.pack;
const localOf = new Map(Object.values(files).flat().map((f) => [f.sha256, f.local]));
const replay = {
  ...packReplaySpecSchema.parse(definition.replay),
  train: [python, `/input/${trainer}`, ...trainArgs],
  limits: { wallTimeMs: 10 * 60_000, cpuSeconds: 20 * 60, memoryBytes: 16 * 1024 ** 3 },
  gpus: gpus ? 1 : 0,
};

// An ephemeral submitter claims "at least 0 correct": the check is about what the verifier measures and signs.
const submitter = generateEd25519Key();
const claim: ClaimPayload = {
  v: 1,
  task: TASK,
  commit,
  parent: null,
  beatsParent: false,
  metric: { name: 'correct', value: 0 },
  submitter: toHex(submitter.publicKey),
  createdAt: new Date().toISOString(),
  bundle: `sha256:${bundleSha256}`,
};
const claimId = claimIdOf(Buffer.from(signClaim(claim, submitter.secretKey).payload, 'base64'));

const [model, driver] = (smi ?? '').split('\n')[0]!.split(',').map((s) => s.trim());
const environment: JobInput['environment'] = {
  gpu: gpus ? { model: model!, count: smi!.split('\n').length } : 'cpu',
  driver: gpus ? (driver ?? null) : null,
  runtimes: {
    node: process.versions.node,
    python: pythonInfo.python,
    ...(pythonInfo.torch ? { torch: pythonInfo.torch } : {}),
    ...(pythonInfo.cuda ? { cuda: pythonInfo.cuda } : {}),
  },
};

const started = Date.now();
const outcome = await runReplayJob({
  claimId,
  task: TASK,
  commit,
  metricName: 'correct',
  bundle,
  bundleSha256,
  policy: { runs },
  replay,
  pack: { pack: definition.pack, source: async (f) => readFileSync(localOf.get(f.sha256)!) },
  gpus,
  environment,
  machine: { readOnlyPaths, env },
  onProgress: (stage) => log(`${stage} (${((Date.now() - started) / 1000).toFixed(1)} s)`),
});
rmSync(repo, { recursive: true, force: true });
if (!outcome.ok) fail(`replay ${outcome.code}: ${outcome.message}`);
log(`replayed in ${((Date.now() - started) / 1000).toFixed(1)} s: ${outcome.runs.map((r) => `seed ${r.seed} -> ${r.value}/64 correct in ${(r.wallMs / 1000).toFixed(1)} s`).join('; ')}`);

const verifier = generateEd25519Key();
const publicKey = toHex(ed25519PublicKey(verifier.secretKey));
const envelope = signAttestation(outcome.statement, verifier.secretKey, publicKey);
const now = new Date();
const registry: VerifierKey[] = [
  {
    id: 'gpu-check',
    name: 'ephemeral gpu-check verifier',
    publicKey,
    validFrom: new Date(started - 60_000).toISOString(),
    validUntil: null,
    revokedAt: null,
    revocationReason: null,
    tasks: [TASK],
  },
];
const check = verifyAttestation(envelope, { claim, claimId, registry, receivedAt: now, now });
console.log(JSON.stringify({ statement: outcome.statement, envelope: { payloadType: envelope.payloadType, signatures: envelope.signatures } }, null, 2));
if (!check.ok) fail(`attestation did not verify: ${check.reason}: ${check.message}`);
const measured = check.statement.predicate.runs.map((r) => r.value).join(', ');
const where = environment.gpu === 'cpu' ? 'cpu' : `${environment.gpu.model} (driver ${environment.driver})`;
console.log(`VERIFIED: commit ${commit.slice(0, 12)} of ${TASK} measured ${measured}/64 correct on ${where}, signed by verifier ${check.verifierKeyIds.join(', ')}`);
