// proofboard prove: computes the zero-knowledge evidence for a model on a task's eval set and writes it as JSON
// for `proofboard submit --evidence FILE`. Proving runs locally; nothing is sent anywhere.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { parseWeightsJson } from '../zk/reference-evaluator.ts';
import { proveClaim } from '../zk/prove.ts';
import { shutdownZk } from '../zk/snarkjs-wrapper.ts';
import { DIGITS_TASK_ID } from '../zk/example-task.ts';
import { serverUrlFromEnv } from '../config.ts';
import { defaultKeyPath, readKeyFile } from './key-file.ts';
import { fetchTaskCircuit } from './task-circuit.ts';

export const USAGE = `usage: proofboard prove --task T --weights FILE [--commit C] [--key KEYFILE] [--out FILE] [--server URL] [--circuit ID]
  --server   where a task's circuit is fetched from, when it is not the built-in digits-mlp one (default:
             $PROOFBOARD_SERVER): the key, the witness generator, the proving key and the evaluation rows, each
             checked against its pin before proving
  --circuit  which of the task's circuits, when it has several
  --commit   git commit the claim is about (default: HEAD of the current repository)
  --key      submitter key file {publicKey, secretKey} (default: $PROOFBOARD_KEY or ~/.config/proofboard/key.json)
  --out      where to write the evidence JSON (default: stdout)`;

export async function proveCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      task: { type: 'string' },
      weights: { type: 'string' },
      commit: { type: 'string' },
      key: { type: 'string', default: defaultKeyPath() },
      out: { type: 'string' },
      server: { type: 'string' },
      circuit: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.task || !values.weights || positionals.length > 0) {
    console.error(USAGE);
    return 2;
  }
  const commit = values.commit ?? execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  const key = readKeyFile(values.key);
  const weights = parseWeightsJson(readFileSync(values.weights));
  const bar = new cliProgress.SingleBar(
    { format: 'proving [{bar}] {value}/{total} steps | {stage}', stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  // The example task proves with circuits/build; any other task with the circuit its operator registered.
  const fetched =
    values.task === DIGITS_TASK_ID && !values.server && !values.circuit
      ? null
      : await fetchTaskCircuit(values.server ?? serverUrlFromEnv(), values.task, values.circuit);
  try {
    const r = await proveClaim({
      weights,
      task: values.task,
      commit,
      ...(fetched ? { artifacts: fetched.artifacts, rows: fetched.rows, circuitId: fetched.circuitId } : {}),
      submitterPublicKeyHex: key.publicKeyHex,
      onProgress: (done, total, stage) => {
        if (!started) {
          bar.start(total, done, { stage });
          started = true;
        } else bar.update(done, { stage });
      },
    });
    if (started) bar.stop();
    const json = `${JSON.stringify(r.evidence)}\n`;
    if (values.out) writeFileSync(values.out, json);
    else process.stdout.write(json);
    console.error(
      `${r.metric.name} = ${r.metric.value} on task ${values.task}, commit ${commit}, weights commitment ${r.weightsCommitment}\n` +
        `submit with: proofboard submit --task ${values.task} --metric ${r.metric.value} --metric-name ${r.metric.name}` +
        `${values.out ? ` --evidence ${values.out}` : ''} ${commit}`,
    );
    return 0;
  } finally {
    if (started) bar.stop();
    fetched?.cleanup();
    await shutdownZk();
  }
}
