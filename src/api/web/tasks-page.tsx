// `/`: the tasks, each with its best verified metric and how many claims are in each state.
import type { TaskSummary } from '../../service/views/task-page.ts';
import { formatMetric } from './format.ts';
import { Layout } from './layout.tsx';

export function TasksPage(props: { tasks: TaskSummary[] }) {
  return (
    <Layout title="proofboard" section="tasks">
      <h1>Tasks</h1>
      <p class="lede">
        Each task has a fixed evaluation. Anyone may claim that a commit reaches a score; proofboard checks the evidence
        (a zero-knowledge proof, signed re-runs, or a sandboxed replay) and ranks only what it verified.
      </p>
      {props.tasks.length === 0 ? (
        <p class="panel empty">No tasks yet. An operator registers them with <code>proofboard admin</code>.</p>
      ) : (
        <ul class="grid cards" role="list">
          {props.tasks.map((t) => (
            <li class="panel-item">
              <a class="panel card" href={`/tasks/${encodeURIComponent(t.id)}`}>
                <h2>{t.title}</h2>
                <p>{t.description}</p>
                <ul class="stats" aria-label="Claims">
                  <li>
                    best {t.metricName} <b>{t.best === null ? '—' : formatMetric(t.best)}</b>{' '}
                    <span class="note">({t.direction} is better)</span>
                  </li>
                  <li>
                    <b>{t.counts.verified}</b> verified
                  </li>
                  <li>
                    <b>{t.counts.pending}</b> pending
                  </li>
                  {t.counts.disputed > 0 ? (
                    <li>
                      <b>{t.counts.disputed}</b> disputed
                    </li>
                  ) : null}
                </ul>
              </a>
            </li>
          ))}
        </ul>
      )}
    </Layout>
  );
}
