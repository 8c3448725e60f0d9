// `/claims/:id`: one claim, each piece of evidence and exactly what it proves (and what it does not), the verdict
// and the rule that decided it, its place in the transparency log, and the command to re-check it yourself.
// Everything shown from the claim or its evidence is untrusted text: it goes through JSX, which escapes it.
import type { ClaimPage, PendingState } from '../../service/views/task-page.ts';
import type { AttestationCard } from '../../service/views/attestation-cards.ts';
import { formatDuration, formatMetric, formatTime, plural, shortId, shortKey } from './format.ts';
import { Badge, Layout } from './layout.tsx';

/**
 * `witnesses`: the cosigner vkeys of the witnesses this service asks (PROOFBOARD_WITNESSES). `logKey`: the log's C2SP
 * vkey, printed in the recheck command. `cards`: what each attestation measured and who signed it, by evidence digest.
 */
export function ClaimPageView(props: {
  page: ClaimPage;
  origin: string;
  witnesses?: readonly string[];
  logKey?: string;
  cards?: ReadonlyMap<string, AttestationCard>;
}) {
  const { view, task, policy, leaves, pending, waiting } = props.page;
  const waitingText = waiting ? `waiting for attestations (${waiting.have} of ${waiting.quorum})` : null;
  // With attestations below quorum and no replay job, "being checked" would say less than the attestation count.
  const jobText = pending && !(waiting && pending.state === 'settling') ? describePending(pending) : null;
  const waitText = [waitingText, jobText].filter(Boolean).join('; ');
  const { claim } = view;
  const latest = view.verdicts.at(-1) ?? null;
  const witnesses = props.witnesses ?? [];
  // A majority of the witnesses: a fork then needs more than half of them to collude (docs/transparency-log.md).
  const needed = Math.floor(witnesses.length / 2) + 1;
  const recheck = `proofboard recheck ${claim.id} --server ${props.origin}${props.logKey ? ` --log-key ${props.logKey}` : ''}${
    witnesses.length ? `${witnesses.map((w) => ` \\\n  --witness ${w}`).join('')} \\\n  --witnesses-needed ${needed}` : ''
  }`;
  const polls = claim.status === 'pending' || pending !== null;
  return (
    <Layout
      title={`Claim ${shortId(claim.id)}`}
      section="tasks"
      head={
        polls ? (
          <noscript>
            <meta http-equiv="refresh" content="10" />
          </noscript>
        ) : null
      }
    >
      <p class="crumbs">
        <a href="/">Tasks</a> / <a href={`/tasks/${encodeURIComponent(claim.taskId)}`}>{task?.title ?? claim.taskId}</a> /{' '}
        <span class="mono">claim {shortId(claim.id)}</span>
      </p>
      <h1>
        {claim.metricName} {formatMetric(claim.metricValue)} <span class="note">claimed for commit</span>{' '}
        <span class="mono">{claim.commit.slice(0, 10)}</span>
      </h1>

      <div
        class="status-line"
        data-poll-claim={polls ? claim.id : undefined}
        data-status={claim.status}
        role="status"
        aria-live="polite"
      >
        <Badge kind={claim.status} />
        {claim.method ? <Badge kind={claim.method} /> : null}
        {claim.auditedAt ? <Badge kind="audited" /> : null}
        {pending || waiting ? <span class="spinner" aria-hidden="true"></span> : null}
        {waitingText ? <span>{waitingText}</span> : null}
        {waitingText && jobText ? <span aria-hidden="true">·</span> : null}
        {jobText ? <span data-pending-text>{jobText}</span> : null}
      </div>
      <p>{statusSentence(claim.status, claim.method, claim.reasonCode, Boolean(claim.auditedAt))}</p>
      {claim.status === 'verified' && claim.method === 'replayed' && [...(props.cards?.values() ?? [])].some((c) => c.signer?.service) ? (
        <p class="note" data-service-replay>
          The replay was run by this service itself, on its own machine with its own worker key: one operator, not an
          independent verifier.
        </p>
      ) : null}

      <div class="grid two">
        <section class="panel" aria-labelledby="claim-h">
          <h2 id="claim-h">The claim</h2>
          <dl class="kv">
            <dt>Claim id</dt>
            <dd class="mono">{claim.id}</dd>
            <dt>Task</dt>
            <dd>
              <a href={`/tasks/${encodeURIComponent(claim.taskId)}`}>{claim.taskId}</a>
            </dd>
            <dt>Commit</dt>
            <dd class="mono">
              <a href={`/claims?task=${encodeURIComponent(claim.taskId)}&commit=${claim.commit}`} title="every claim for this commit">
                {claim.commit}
              </a>
            </dd>
            <dt>Parent</dt>
            <dd class="mono">
              {claim.parent ? (
                <a href={`/claims?task=${encodeURIComponent(claim.taskId)}&commit=${claim.parent}`} title="every claim for the parent commit">
                  {claim.parent}
                </a>
              ) : (
                'none'
              )}
            </dd>
            {claim.parent ? (
              <>
                <dt>Beats its parent</dt>
                <dd>{claim.beatsParent ? 'claimed (judged by the task’s statistical test)' : 'not claimed'}</dd>
              </>
            ) : null}
            <dt>Metric</dt>
            <dd>
              <span class="mono">{claim.metricName}</span> = <b>{formatMetric(claim.metricValue)}</b>
            </dd>
            <dt>Submitter key</dt>
            <dd class="mono">
              <a href={`/submitters/${claim.submitter}`} title="this submitter's claims and record">
                {claim.submitter}
              </a>
            </dd>
            <dt>Signed at</dt>
            <dd>{formatTime(claim.claimedAt)} (the submitter’s clock)</dd>
            <dt>Received</dt>
            <dd>{formatTime(claim.receivedAt)}</dd>
            <dt>Commit bundle</dt>
            <dd class="mono">
              <a href={`/v1/blobs/sha256:${claim.bundleSha256}`} download={`${claim.commit.slice(0, 12)}.bundle`}>
                sha256:{claim.bundleSha256}
              </a>
            </dd>
            <dt>As JSON</dt>
            <dd>
              <a href={`/v1/claims/${claim.id}`}>the claim</a> · <a href={`/v1/claims/${claim.id}/bundle`}>its re-check bundle</a>
            </dd>
          </dl>
          <p class="note">
            The bundle holds the commit under <span class="mono">refs/proofboard/…</span>, not a branch, so a plain clone
            of it looks empty. Instead: <span class="mono">git init c && git -C c fetch ../FILE.bundle 'refs/*:refs/*' && git -C c checkout {claim.commit.slice(0, 12)}</span>
          </p>
        </section>

        <section class="panel" aria-labelledby="verdict-h">
          <h2 id="verdict-h">Verdict</h2>
          {latest ? (
            <dl class="kv">
              <dt>Status</dt>
              <dd>
                <Badge kind={latest.status} /> {latest.reasonCode ? <span class="mono">{latest.reasonCode}</span> : null}
              </dd>
              <dt>Rule</dt>
              <dd>{latest.rule}</dd>
              <dt>Decided</dt>
              <dd>{formatTime(latest.decidedAt)}</dd>
              <dt>Log leaf</dt>
              <dd>{latest.logIndex === null ? 'not logged' : <span class="mono">#{latest.logIndex}</span>}</dd>
            </dl>
          ) : (
            <p>No verdict yet{waitText ? `: ${waitText}` : '.'}</p>
          )}
          {view.verdicts.length > 1 ? (
            <>
              <h3>History</h3>
              <ol class="history">
                {view.verdicts.map((v) => (
                  <li>
                    <Badge kind={v.status} /> {v.rule} <span class="note">{formatTime(v.decidedAt)}, leaf #{v.logIndex ?? '—'}</span>
                  </li>
                ))}
              </ol>
            </>
          ) : null}
        </section>
      </div>

      <h2 id="evidence-h">Evidence</h2>
      {view.evidence.length === 0 ? (
        <p class="panel">
          The submitter sent no evidence. A verifier operator replays the commit in a sandbox; the task’s own pinned
          harness computes the score, never the submitted code.
        </p>
      ) : (
        <ul class="evidence panel" aria-labelledby="evidence-h">
          {view.evidence.map((e) => (
            <EvidenceItem
              kind={e.kind}
              body={e.body}
              digest={e.digest}
              receivedAt={e.receivedAt}
              claim={claim}
              quorum={policy?.quorum ?? null}
              refusal={refusalOf(e.kind, latest)}
              card={props.cards?.get(e.digest) ?? null}
            />
          ))}
        </ul>
      )}

      <h2 id="log-h">Transparency log</h2>
      <div class="panel">
        {leaves.length === 0 ? (
          <p>Nothing logged yet: a verdict is logged in the same transaction that records it.</p>
        ) : (
          <>
            <p>
              {plural(leaves.length, 'verdict')} of this claim {leaves.length === 1 ? 'is' : 'are'} in the signed log. The leaf
              holds the canonical verdict record; its hash is SHA-256(0x00 ‖ record) (RFC 6962).
            </p>
            <ul class="history">
              {leaves.map((l) => (
                <li>
                  leaf <b class="mono">#{l.index}</b> <span class="mono note">sha256:{l.leafHash}</span>
                </li>
              ))}
            </ul>
            <p class="note">
              Inclusion proofs: <a href="/v1/log/checkpoint">the latest signed checkpoint</a> and the log API.
            </p>
          </>
        )}
      </div>

      <h2 id="recheck-h">Check it yourself</h2>
      <div class="panel">
        <p>
          This re-runs every check on your machine: the submitter’s signature, each proof against the pinned key, each
          attestation against the published verifier registry, and the log inclusion against a signed checkpoint. It
          trusts nothing this server says.
        </p>
        <div class="command">
          <pre id="recheck-command" tabindex={0} aria-label="recheck command">
            {recheck}
          </pre>
          <button type="button" data-copy="recheck-command" hidden>
            Copy
          </button>
        </div>
        {witnesses.length ? (
          <p class="note" id="witnesses">
            {plural(witnesses.length, 'independent witness', 'independent witnesses')} cosign this log’s checkpoints
            only when they extend what each saw before, so a forked history for you alone needs {needed} of them to
            collude. Pin their keys as you got them from the witnesses’ operators, not from this page:{' '}
            {witnesses.map((w) => w.split('+')[0]).join(', ')}.
          </p>
        ) : null}
      </div>
    </Layout>
  );
}

export function describePending(p: PendingState): string {
  const what = (kind: string) => (kind === 'audit' ? 'audit replay' : 'replay');
  switch (p.state) {
    case 'queued':
      return `${what(p.kind)} queued`;
    case 'running':
      return `${what(p.kind)} running for ${formatDuration(p.runningForMs)}`;
    case 'settling':
      return 'being checked';
  }
}

function statusSentence(status: string, method: string | null, reason: string | null, audited: boolean): string {
  if (status === 'pending') return 'Not decided yet. This page updates by itself when the verdict arrives.';
  if (status === 'rejected') return `Rejected (${reason ?? 'no reason given'}): its evidence was false or contradicted. False evidence is not “no evidence”.`;
  if (status === 'disputed')
    return `Disputed (${reason ?? 'contradicted'}): it was verified, then an audit replay or a trusted attestation contradicted it. It no longer ranks, and it counts against its submitter and the verifiers who vouched for it.`;
  const how: Record<string, string> = {
    zk: 'a zero-knowledge proof of the evaluation',
    attested: 'a quorum of signed re-runs by trusted verifier operators',
    replayed: 'a sandboxed replay by a trusted verifier',
  };
  return `Verified by ${how[method ?? ''] ?? 'its evidence'}.${audited ? ' An audit replay re-ran the commit later and agreed.' : ''}`;
}

type Refusal = { reasonCode: string; rule: string };

/**
 * The refusal to show on a piece of evidence: a rejected claim's zk evidence is what failed when the reason is the zk
 * verifier's (or a reused statement). The page must not then say "Proves": it says what was claimed and why not.
 */
function refusalOf(kind: string, latest: { status: string; reasonCode: string | null; rule: string } | null): Refusal | null {
  if (!latest || latest.status !== 'rejected' || !latest.reasonCode) return null;
  if (kind === 'zk' && latest.reasonCode.startsWith('zk_')) return { reasonCode: latest.reasonCode, rule: latest.rule };
  return null;
}

function EvidenceItem(props: {
  kind: string;
  body: unknown;
  digest: string;
  receivedAt: Date;
  claim: { commit: string; metricName: string; metricValue: number; taskId: string };
  quorum: number | null;
  refusal: Refusal | null;
  card: AttestationCard | null;
}) {
  const { claim } = props;
  const m = `${claim.metricName} = ${formatMetric(claim.metricValue)}`;
  if (props.kind === 'zk') {
    const z = zkFacts(props.body);
    const statement = (
      <>
        weights W{z.weights ? <span class="mono hash"> (Poseidon commitment {z.weights.slice(0, 16)}…)</span> : null} score {m} on
        the task’s committed evaluation set E{z.shards ? `, over ${plural(z.shards, 'shard')}` : ''}
      </>
    );
    if (props.refusal) {
      return (
        <li class="zk refused" data-refused={props.refusal.reasonCode}>
          <h3>
            <Badge kind="rejected" label="refused proof" /> {z.circuit ? <span class="mono">{z.circuit}</span> : null}
          </h3>
          <p class="claimed">Claimed to prove: {statement}.</p>
          <p class="refused-why">
            Refused (<span class="mono">{props.refusal.reasonCode}</span>): {props.refusal.rule}. It proves nothing about this
            claim, and the refusal counts against the submitter key.
          </p>
          <p class="note mono hash">sha256:{props.digest}</p>
        </li>
      );
    }
    return (
      <li class="zk">
        <h3>
          <Badge kind="zk" label="zero-knowledge proof" /> {z.circuit ? <span class="mono">{z.circuit}</span> : null}
        </h3>
        <p class="proves">
          Proves: {statement}. The proof binds the task, commit <span class="mono">{claim.commit.slice(0, 10)}</span> and the
          submitter key, so it cannot be reused for another claim.
        </p>
        <p class="not-proves">
          Does not prove that training commit {claim.commit.slice(0, 10)} produced W: that is what audit replays check.
        </p>
        <p class="note mono hash">sha256:{props.digest}</p>
      </li>
    );
  }
  if (props.kind === 'attestation') {
    const a = attestationFacts(props.body);
    const card = props.card;
    const signer = card?.signer ?? null;
    return (
      <li class="attestation" data-signer={signer?.id} data-revoked={signer?.revokedAt ? 'true' : undefined}>
        <h3>
          <Badge kind="attested" label="signed re-run" />{' '}
          {signer ? (
            <span>
              by <b>{signer.name}</b> <span class="note">(operator {signer.operator})</span>
            </span>
          ) : a.keyid ? (
            <span class="mono">verifier {shortKey(a.keyid)}</span>
          ) : null}{' '}
          {signer?.service ? <Badge kind="replayed" label="this service’s own worker" title="the server re-ran the commit itself, with its own key" /> : null}
          {signer?.revokedAt ? <Badge kind="disputed" label="revoked" title={`revoked as ${signer.revocationReason ?? 'revoked'}`} /> : null}
        </h3>
        {signer?.service ? (
          <p class="note">
            This service re-ran the commit on its own machine with its own worker key: one operator,{' '}
            <span class="mono">{signer.operator}</span>, not an independent lab.
          </p>
        ) : null}
        {signer?.revokedAt ? (
          <p class="refused-why">
            Its key was revoked ({signer.revocationReason}) at {formatTime(signer.revokedAt)}: nothing it signed after
            that counts{signer.revocationReason === 'compromised' ? ', and what it signed before was judged again without it' : ''}.
          </p>
        ) : null}
        {card?.runs ? (
          <div class="table-wrap runs">
            <table>
              <caption>Measured {claim.metricName} per run (claimed {formatMetric(claim.metricValue)})</caption>
              <thead>
                <tr>
                  <th scope="col">Seed</th>
                  <th scope="col" class="num">
                    {claim.metricName}
                  </th>
                </tr>
              </thead>
              <tbody>
                {card.runs.map((r) => (
                  <tr>
                    <td class="mono">{r.seed}</td>
                    <td class="num">{formatMetric(r.value)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
        {card?.hardware ? (
          <p class="note">
            Hardware: {card.hardware}
            {card.runner ? (
              <>
                {' '}
                · runner <span class="mono">{card.runner}</span>
              </>
            ) : null}
          </p>
        ) : null}
        <p class="proves">
          Proves: a verifier operator holding a key from the trust registry re-ran commit{' '}
          <span class="mono">{claim.commit.slice(0, 10)}</span> and signed what it measured. With{' '}
          {props.quorum === null ? 'the task’s quorum' : plural(props.quorum, 'distinct trusted operator')} agreeing within
          the task’s tolerance, it proves “k trusted operators re-ran C and measured M”.
        </p>
        <p class="not-proves">
          Does not prove more than the operators’ honesty: a stolen or dishonest verifier key can sign a false number,
          which is why a quorum of distinct operators is needed and revoked keys stop counting.
        </p>
        <p class="note mono hash">
          sha256:{props.digest} · received {formatTime(props.receivedAt)}
        </p>
      </li>
    );
  }
  return (
    <li>
      <h3>{props.kind}</h3>
      <p class="note mono hash">sha256:{props.digest}</p>
    </li>
  );
}

// Evidence bodies are stored as the client sent them (after intake checks): read them defensively, never trust types.
function zkFacts(body: unknown): { circuit: string | null; shards: number | null; weights: string | null } {
  const b = (body ?? {}) as { circuit?: unknown; shards?: unknown };
  const shards = Array.isArray(b.shards) ? b.shards : null;
  const first = shards?.[0] as { publicSignals?: unknown } | undefined;
  const signal = Array.isArray(first?.publicSignals) ? first.publicSignals[0] : undefined;
  return {
    circuit: typeof b.circuit === 'string' ? b.circuit : null,
    shards: shards ? shards.length : null,
    weights: typeof signal === 'string' && /^[0-9]{1,78}$/.test(signal) ? BigInt(signal).toString(16) : null,
  };
}

function attestationFacts(body: unknown): { keyid: string | null } {
  const env = (body as { envelope?: { signatures?: unknown } } | null)?.envelope;
  const sigs = Array.isArray(env?.signatures) ? env.signatures : [];
  const keyid = (sigs[0] as { keyid?: unknown } | undefined)?.keyid;
  return { keyid: typeof keyid === 'string' ? keyid.slice(0, 128) : null };
}
