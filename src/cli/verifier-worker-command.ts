// proofboard verifier --server URL --key K [--gpus N] [--tasks a,b] [--once]: the replay worker as a command.
import { parseArgs } from 'node:util';
import { checkSandboxAvailable } from '../replay/sandbox.ts';
import { describeEnvironment, GpuUnavailableError, runWorker } from '../replay/worker.ts';
import { defaultVerifierKeyPath, readKeyFile } from './key-file.ts';
import { serverUrlFromEnv } from '../config.ts';

/** `usage` is verifier-command.ts's text, printed on a wrong command line. */
export async function workerCommand(argv: string[], usage: string): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      server: { type: 'string', default: serverUrlFromEnv() },
      // The docs' default: $PROOFBOARD_VERIFIER_KEY, else ~/.config/proofboard/verifier-key.json.
      key: { type: 'string', default: defaultVerifierKeyPath() },
      gpus: { type: 'string', default: '0' },
      tasks: { type: 'string' },
      once: { type: 'boolean', default: false },
      'poll-ms': { type: 'string', default: '5000' },
      // A toolchain outside /usr (e.g. a PyTorch virtual environment under /opt), mounted read-only into every job.
      'read-only': { type: 'string', multiple: true, default: [] },
      // Host variables a toolchain needs inside the job (e.g. LD_LIBRARY_PATH to the NVIDIA driver); the job's
      // environment is otherwise cleared, so nothing of the operator's leaks in unless named here.
      'pass-env': { type: 'string', multiple: true, default: [] },
    },
  });
  if (positionals.length > 0) {
    console.error(usage);
    return 2;
  }
  const gpus = Number(values.gpus);
  if (!Number.isInteger(gpus) || gpus < 0 || gpus > 64) {
    console.error('--gpus must be an integer 0..64');
    return 2;
  }
  // The key first: a missing key file is the likeliest mistake, and its message says what to run.
  const key = readKeyFile(values.key, 'proofboard verifier keygen');
  // Refuse to start rather than sign an environment that was not measured: asked for GPUs, they must answer.
  let environment: ReturnType<typeof describeEnvironment>;
  try {
    environment = describeEnvironment(gpus);
  } catch (e) {
    if (!(e instanceof GpuUnavailableError)) throw e;
    console.error(`proofboard verifier: refusing to start: ${e.message}`);
    return 1;
  }
  // Refuse to start rather than ever run submitted code without the sandbox.
  const sandbox = await checkSandboxAvailable();
  if (!sandbox.available) {
    console.error(`proofboard verifier: sandbox unavailable, refusing to replay: ${sandbox.missing.join('; ')}`);
    return 1;
  }
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  const { jobs } = await runWorker({
    server: values.server,
    secretKey: key.secretKey,
    gpus,
    environment,
    ...(values.tasks ? { tasks: values.tasks.split(',') } : {}),
    once: values.once,
    machine: { readOnlyPaths: values['read-only'], env: passedEnv(values['pass-env']) },
    pollMs: Number(values['poll-ms']),
    signal: controller.signal,
  });
  console.log(`worker stopped after ${jobs} job(s)`);
  return 0;
}

function passedEnv(names: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of names) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}
