// `/claims` (every claim, filtered by task, status, submitter and commit) and `/submitters/:key` (one key's record and
// its claims). Both list the same rows, newest first, a page at a time; pending and rejected claims show here, since
// the leaderboard ranks only verified ones.
import type { ClaimListQuery, ClaimSummary, SubmitterRecord } from '../../service/views/claim-list.ts';
import { CLAIM_STATUSES } from '../../service/views/claim-list.ts';
import { formatMetric, formatTime, shortCommit, shortKey } from './format.ts';
import { Badge, Layout } from './layout.tsx';

type ListProps = { claims: ClaimSummary[]; next: string | null; query: ClaimListQuery; basePath: string };

export function ClaimListPage(props: ListProps) {
  const q = props.query;
  return (
    <Layout title="Claims" section="claims">
      <h1>Claims</h1>
      <p class="lede">Every claim received, newest first: verified, pending, rejected and disputed. Filter by any field.</p>
      <form class="filters panel" method="get" action="/claims" role="search" aria-label="Filter claims">
        <label>
          Task <input name="task" value={q.task ?? ''} placeholder="any" pattern="[a-z0-9][a-z0-9-]{0,62}" />
        </label>
        <label>
          Status{' '}
          <select name="status">
            <option value="">any</option>
            {CLAIM_STATUSES.map((s) => (
              <option value={s} selected={q.status === s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Submitter <input name="submitter" value={q.submitter ?? ''} placeholder="public key (64 hex)" pattern="[0-9a-f]{64}" class="mono" />
        </label>
        <label>
          Commit <input name="commit" value={q.commit ?? ''} placeholder="full commit hash" pattern="[0-9a-f]{40}([0-9a-f]{24})?" class="mono" />
        </label>
        <button type="submit">Filter</button>
      </form>
      <ClaimTable {...props} caption="Claims matching the filter, newest first." />
    </Layout>
  );
}

export function SubmitterPage(props: ListProps & { record: SubmitterRecord }) {
  const r = props.record;
  return (
    <Layout title={`Submitter ${shortKey(r.publicKey)}`} section="claims">
      <p class="crumbs">
        <a href="/claims">Claims</a> / submitter
      </p>
      <h1>
        Submitter <span class="mono">{shortKey(r.publicKey)}</span>
      </h1>
      <dl class="kv panel" aria-label="Record">
        <dt>Public key</dt>
        <dd class="mono">{r.publicKey}</dd>
        <dt>Reputation</dt>
        <dd>
          <b>{r.reputation}</b> <span class="note">(rises with verified claims, falls with rejected and disputed ones)</span>
        </dd>
        <dt>Record</dt>
        <dd>
          <b>{r.verified}</b> verified, <b>{r.rejected}</b> rejected, <b>{r.disputed}</b> disputed
        </dd>
        <dt>First seen</dt>
        <dd>{formatTime(r.firstSeenAt)}</dd>
        {r.bannedAt ? (
          <>
            <dt>Banned</dt>
            <dd>
              <Badge kind="disputed" label="banned" /> since {formatTime(r.bannedAt)}
              {r.banReason ? `: ${r.banReason}` : ''}
            </dd>
          </>
        ) : null}
      </dl>
      <h2 id="claims">Claims</h2>
      <ClaimTable {...props} caption="This key's claims, newest first." />
      <p class="note">
        As JSON: <a href={`/v1/claims?submitter=${r.publicKey}`}>/v1/claims?submitter=…</a> and{' '}
        <a href={`/v1/submitters/${r.publicKey}`}>/v1/submitters/…</a>
      </p>
    </Layout>
  );
}

function ClaimTable(props: ListProps & { caption: string }) {
  if (props.claims.length === 0) {
    return <p class="panel empty">{props.query.cursor ? 'No more claims.' : 'No claims match.'}</p>;
  }
  const nextHref = props.next ? `${props.basePath}?${pageQuery(props.query, props.next)}` : null;
  return (
    <>
      <div class="table-wrap" role="region" aria-label="Claims" tabindex={0}>
        <table class="claim-list">
          <caption>{props.caption}</caption>
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col" class="num">
                Metric
              </th>
              <th scope="col">Task</th>
              <th scope="col" class="hide-narrow">
                Commit
              </th>
              <th scope="col">Submitter</th>
              <th scope="col" class="hide-narrow">
                Received
              </th>
            </tr>
          </thead>
          <tbody>
            {props.claims.map((c) => (
              <tr data-claim={c.id} data-status={c.status}>
                <td class="badges">
                  <Badge kind={c.status} />
                  {c.method ? <Badge kind={c.method} /> : null}
                  {c.status === 'rejected' || c.status === 'disputed' ? <span class="reason">{c.reasonCode ?? ''}</span> : null}
                </td>
                <td class="num">
                  <a href={`/claims/${c.id}`} title={`${c.metric.name} ${c.metric.value}`}>
                    {formatMetric(c.metric.value)}
                  </a>
                </td>
                <td>
                  <a href={`/tasks/${c.task}`}>{c.task}</a>
                </td>
                <td class="mono hide-narrow" title={c.commit}>
                  <a href={`/claims?commit=${c.commit}`}>{shortCommit(c.commit)}</a>
                </td>
                <td class="mono" title={c.submitter}>
                  <a href={`/submitters/${c.submitter}`}>{shortKey(c.submitter)}</a>
                </td>
                <td class="hide-narrow">{formatTime(c.receivedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {nextHref ? (
        <p>
          <a href={nextHref} rel="next">
            Older claims →
          </a>
        </p>
      ) : null}
    </>
  );
}

/** The same filters with the next page's cursor (the submitter page carries its key in the path, not the query). */
function pageQuery(q: ClaimListQuery, cursor: string): string {
  const params = new URLSearchParams();
  for (const k of ['task', 'status', 'commit', 'limit'] as const) if (q[k] !== undefined) params.set(k, String(q[k]));
  params.set('cursor', cursor);
  return params.toString();
}
