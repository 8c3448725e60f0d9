// The task page's "How to submit" section: the submission contract (src/attest/task-pack.ts submissionContractOf),
// so a submitter learns what a commit must contain and how it is run without reading server code.
import type { SubmissionContract } from '../../attest/task-pack.ts';

const LIMIT_LABELS: Record<string, string> = { wallTimeMs: 'wall time (ms)', cpuSeconds: 'CPU (s)', memoryBytes: 'memory (bytes)', diskBytes: 'disk (bytes)' };

export function TaskContract(props: { contract: SubmissionContract | null; taskId: string }) {
  const c = props.contract;
  if (!c) return <p class="panel note">This task takes no replay: claims are verified by proofs or attestations only.</p>;
  return (
    <section class="panel" aria-labelledby="contract-h" data-contract>
      <h2 id="contract-h">How to submit</h2>
      <dl class="kv">
        <dt>Commit must contain</dt>
        <dd class="mono">{c.commitMustContain.length ? c.commitMustContain.join(', ') : '(whatever the command needs)'}</dd>
        <dt>Training command</dt>
        <dd class="mono">{c.train.command.join(' ')}</dd>
        <dt>Runs and seeds</dt>
        <dd>
          {c.train.runs} run(s){c.train.seeds ? <span class="mono"> with seeds {c.train.seeds.join(', ')}</span> : null}, each replacing {'{seed}'}
        </dd>
        <dt>Sandbox</dt>
        <dd>
          {Object.entries(c.train.mounts).map(([path, what]) => (
            <span>
              <span class="mono">{path}</span>: {what}.{' '}
            </span>
          ))}
          No network.
        </dd>
        {c.outputs ? (
          <>
            <dt>Outputs</dt>
            <dd class="mono">{c.outputs.map((o) => `/work/${o.path} (at most ${o.maxBytes} bytes)`).join(', ')}</dd>
          </>
        ) : null}
        <dt>Budget per run</dt>
        <dd>
          {Object.entries(c.budgets.train).map(([k, v]) => `${LIMIT_LABELS[k] ?? k} ${v}`).join(', ') || 'the verifier defaults'}; GPUs {c.budgets.gpus}
        </dd>
        <dt>Scored by</dt>
        <dd>
          {c.harness && 'command' in c.harness ? (
            <>
              <span class="mono">{c.harness.command.join(' ')}</span> (harness <span class="mono">sha256:{c.harness.sha256}</span>, files public at
              /v1/blobs), on hidden evaluation data <span class="mono">sha256:{c.evalData?.sha256}</span>
            </>
          ) : c.harness ? (
            <span class="mono">{c.harness.id}</span>
          ) : (
            'no harness'
          )}
        </dd>
        <dt>Agreement</dt>
        <dd>
          <span class="mono">{c.metric.name}</span> ({c.metric.direction} is better); tolerance <span class="mono">{JSON.stringify(c.metric.tolerance)}</span>; quorum{' '}
          {c.metric.quorum ?? '?'}
        </dd>
      </dl>
      <p class="note">
        The same contract as JSON: <a href={`/v1/tasks/${encodeURIComponent(props.taskId)}`}>GET /v1/tasks/{props.taskId}</a> (field <span class="mono">contract</span>).
      </p>
    </section>
  );
}
