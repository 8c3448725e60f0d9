// A verifier's signed replay result for a claim, as tests need it: the predicate a real run would report, with the
// parts a test varies (value, commit, times, any predicate field) as options.
import type { DsseEnvelope } from '../../src/attest/dsse.ts';
import { buildReplayStatement, signAttestation, type ReplayResultPredicate } from '../../src/attest/statement.ts';
import { sha256Hex, type TestKey } from './claims.ts';
import { environmentPinsOf } from '../../src/attest/task-pack.ts';
import { exampleTask } from '../../src/service/example-task.ts';

/** The example task's pack pins (examples/digits/pack): what an attestation of it, or of a task with its pack, must name. */
export const EXAMPLE_PINS = environmentPinsOf(exampleTask.pack)!;

export type ReplayAttestationOptions = {
  claimId: string;
  commit: string;
  value: number;
  /** The run finished a minute before this, after two minutes of work. */
  now: Date;
  keyid?: string;
  predicate?: Partial<ReplayResultPredicate>;
};

const seconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export function replayAttestation(key: TestKey, o: ReplayAttestationOptions): DsseEnvelope {
  const statement = buildReplayStatement({
    commit: o.commit,
    modelSha256: sha256Hex('model'),
    predicate: {
      task: 'digits-mlp',
      claimId: o.claimId,
      metric: 'correct',
      runs: [{ seed: 0, value: o.value }],
      environment: {
        gpu: 'cpu',
        driver: null,
        runtimes: { node: '20.19.0' },
        runnerVersion: 'proofboard-verifier/test',
        // The example task's pack pins: an attestation of a task with a pack counts only with them (environment_mismatch).
        harnessSha256: EXAMPLE_PINS.harnessSha256,
        datasetSha256: EXAMPLE_PINS.datasetSha256,
        sandboxProfileSha256: sha256Hex('sandbox'),
      },
      startedAt: seconds(new Date(o.now.getTime() - 120_000)),
      finishedAt: seconds(new Date(o.now.getTime() - 60_000)),
      ...o.predicate,
    },
  });
  return signAttestation(statement, key.secretKey, o.keyid ?? key.hex);
}
