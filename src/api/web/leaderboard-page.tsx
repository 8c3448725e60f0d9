// `/tasks/:id`: the leaderboard (verified entries ranked, disputed ones struck through in place with the reason),
// the best metric over time, and the lineage of commits.
import type { TaskPage } from '../../service/views/task-page.ts';
import { BestChart } from './chart.tsx';
import { formatMetric, formatTime, plural, shortCommit, shortKey } from './format.ts';
import { Badge, Layout } from './layout.tsx';
import { TaskContract } from './task-contract.tsx';

type Entry = TaskPage['entries'][number] & { others?: number };
type Disputed = TaskPage['disputed'][number];
type Row = { kind: 'ranked'; entry: Entry } | { kind: 'disputed'; entry: Disputed };

export function LeaderboardPage(props: { page: TaskPage; now: Date }) {
  const { page } = props;
  const { task } = page;
  const commits = bestPerCommit(page.entries);
  const rows = mergeRows(commits, page.disputed, task.direction);
  return (
    <Layout title={task.title} section="tasks">
      <p class="crumbs">
        <a href="/">Tasks</a> / <span class="mono">{task.id}</span>
      </p>
      <h1>{task.title}</h1>
      <p class="lede">{task.description}</p>
      <ul class="stats" aria-label="Task facts">
        <li>
          metric <b class="mono">{task.metricName}</b> ({task.direction} is better)
        </li>
        {task.policy ? (
          <li>
            attestation quorum <b>{task.policy.quorum}</b>
          </li>
        ) : null}
        <li>
          <b>{page.entries.length}</b> verified
        </li>
        <li>
          <a href={`/claims?task=${encodeURIComponent(task.id)}&status=pending`}>
            <b>{page.pendingCount}</b> pending
          </a>
        </li>
        <li>
          <a href={`/claims?task=${encodeURIComponent(task.id)}&status=rejected`}>rejected</a> ·{' '}
          <a href={`/claims?task=${encodeURIComponent(task.id)}`}>every claim</a>
        </li>
      </ul>

      <TaskContract contract={task.contract} taskId={task.id} />

      <h2 id="leaderboard">Leaderboard</h2>
      {rows.length === 0 ? (
        <p class="panel empty">No verified claims yet.</p>
      ) : (
        <div class="table-wrap" role="region" aria-labelledby="leaderboard" tabindex={0}>
          <table class="leaderboard">
            <caption>
              Verified commits, best first: one row per commit (its best verified claim). Disputed claims are struck
              through and do not rank.
            </caption>
            <thead>
              <tr>
                <th scope="col">Rank</th>
                <th scope="col" class="num">
                  {task.metricName}
                </th>
                <th scope="col" class="hide-narrow">
                  Commit
                </th>
                <th scope="col">Submitter</th>
                <th scope="col">Verified by</th>
                <th scope="col" class="hide-narrow">
                  Received
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (row.kind === 'ranked' ? <RankedRow entry={row.entry} task={task.id} /> : <DisputedRow entry={row.entry} />))}
            </tbody>
          </table>
        </div>
      )}

      <h2 id="progress">Best {task.metricName} over time</h2>
      <BestChart points={page.history} metricName={task.metricName} direction={task.direction} now={props.now} />

      <h2 id="lineage">Lineage</h2>
      <p class="note">Which commit each verified entry built on. A claim names its parent commit; follow the chain back.</p>
      <Lineage entries={commits} />
    </Layout>
  );
}

function RankedRow(props: { entry: Entry; task: string }) {
  const e = props.entry;
  const others = e.others ?? 0;
  return (
    <tr class={e.rank === 1 ? 'top' : undefined} data-claim={e.claimId} data-commit={e.commit}>
      <td class="rank">{e.rank}</td>
      <td class="num">
        <a href={`/claims/${e.claimId}`}>{formatMetric(e.metric.value)}</a>
      </td>
      <td class="mono hide-narrow" title={e.commit}>
        <a href={`/claims?task=${encodeURIComponent(props.task)}&commit=${e.commit}`}>{shortCommit(e.commit)}</a>
      </td>
      <td class="mono" title={e.submitter}>
        <a href={`/submitters/${e.submitter}`}>{shortKey(e.submitter)}</a>
      </td>
      <td class="badges">
        {e.method ? <Badge kind={e.method} /> : null}
        {e.audited ? <Badge kind="audited" /> : null}
        {others > 0 ? (
          <a class="more note" href={`/claims?task=${encodeURIComponent(props.task)}&commit=${e.commit}`} data-more-claims={others}>
            +{plural(others, 'other claim')}
          </a>
        ) : null}
      </td>
      <td class="hide-narrow">{formatTime(e.receivedAt)}</td>
    </tr>
  );
}

/**
 * One row per commit: a commit claimed ten times (resubmissions, several submitters) is one result, shown by its best
 * verified claim (entries arrive best first) and ranked among commits; the rest are a link away.
 */
function bestPerCommit(entries: TaskPage['entries']): Entry[] {
  const best = new Map<string, Entry>();
  for (const e of entries) {
    const seen = best.get(e.commit);
    if (seen) seen.others = (seen.others ?? 0) + 1;
    else best.set(e.commit, { ...e, others: 0 });
  }
  return [...best.values()].map((e, i) => ({ ...e, rank: i + 1 }));
}

function DisputedRow(props: { entry: Disputed }) {
  const e = props.entry;
  return (
    <tr class="disputed" data-claim={e.claimId}>
      <td class="rank">
        <span aria-hidden="true">—</span>
        <span class="visually-hidden">not ranked</span>
      </td>
      <td class="num">
        <a href={`/claims/${e.claimId}`}>
          <s>{formatMetric(e.metric.value)}</s>
        </a>
      </td>
      <td class="mono hide-narrow" title={e.commit}>
        <s>{shortCommit(e.commit)}</s>
      </td>
      <td class="mono" title={e.submitter}>
        {shortKey(e.submitter)}
      </td>
      <td class="badges">
        <Badge kind="disputed" />
        <span class="reason">{e.reasonCode ?? 'contradicted'}</span>
      </td>
      <td class="hide-narrow">{formatTime(e.receivedAt)}</td>
    </tr>
  );
}

/** Disputed entries sit where their claimed metric would have ranked them, so the strike-through reads in context. */
function mergeRows(entries: Entry[], disputed: Disputed[], direction: 'higher' | 'lower'): Row[] {
  const better = (a: number, b: number) => (direction === 'higher' ? a > b : a < b);
  const rows: Row[] = entries.map((entry) => ({ kind: 'ranked', entry }));
  for (const d of disputed) {
    const at = rows.findIndex((r) => better(d.metric.value, r.entry.metric.value));
    rows.splice(at === -1 ? rows.length : at, 0, { kind: 'disputed', entry: d });
  }
  return rows;
}

type Node = { commit: string; entries: Entry[]; children: Node[]; parentStatus: string | null };

/** A forest of commits: each verified entry under its parent's node when the parent is on the board too. */
function buildLineage(entries: Entry[]): Node[] {
  const byCommit = new Map<string, Node>();
  for (const e of entries) {
    const node = byCommit.get(e.commit) ?? { commit: e.commit, entries: [], children: [], parentStatus: null };
    node.entries.push(e);
    byCommit.set(e.commit, node);
  }
  const roots: Node[] = [];
  const external = new Map<string, Node>();
  for (const node of byCommit.values()) {
    const parent = node.entries[0]!.lineage.parent;
    const parentNode = parent ? byCommit.get(parent) : undefined;
    if (parent && parentNode && parentNode !== node) {
      parentNode.children.push(node);
    } else if (parent) {
      // The parent commit has no verified entry: show it as a root with what is known about it.
      let ext = external.get(parent);
      if (!ext) {
        const claims = node.entries[0]!.lineage.parentClaims;
        ext = { commit: parent, entries: [], children: [], parentStatus: claims.length ? claims.map((c) => c.status).join(', ') : 'no claim' };
        external.set(parent, ext);
        roots.push(ext);
      }
      ext.children.push(node);
    } else {
      roots.push(node);
    }
  }
  // Parent links come from untrusted claims and may form a cycle (X names Y, Y names X): nodes no root reaches are
  // shown as roots of their own, so no verified entry disappears from the lineage.
  const reached = new Set<Node>();
  const visit = (n: Node) => {
    if (reached.has(n)) return;
    reached.add(n);
    n.children.forEach(visit);
  };
  roots.forEach(visit);
  for (const node of byCommit.values()) {
    if (!reached.has(node)) {
      roots.push(node);
      visit(node);
    }
  }
  return roots;
}

function Lineage(props: { entries: Entry[] }) {
  if (props.entries.length === 0) return <p class="panel empty">Nothing to show yet.</p>;
  return (
    <div class="panel">
      <ul class="tree">
        {buildLineage(props.entries).map((n) => (
          <LineageNode node={n} depth={0} />
        ))}
      </ul>
    </div>
  );
}

const MAX_DEPTH = 32;

function LineageNode(props: { node: Node; depth: number }) {
  const { node } = props;
  const best = node.entries[0];
  return (
    <li>
      <span class="node">
        <span class="mono" title={node.commit}>
          {shortCommit(node.commit)}
        </span>
        {best ? (
          <>
            <a href={`/claims/${best.claimId}`}>
              {formatMetric(best.metric.value)} (rank {best.rank})
            </a>
            {node.entries.length > 1 ? <span class="note">{plural(node.entries.length, 'entry', 'entries')}</span> : null}
          </>
        ) : (
          <span class="note">not on the board ({node.parentStatus})</span>
        )}
      </span>
      {node.children.length > 0 && props.depth < MAX_DEPTH ? (
        <ul>
          {node.children.map((c) => (
            <LineageNode node={c} depth={props.depth + 1} />
          ))}
        </ul>
      ) : null}
    </li>
  );
}
