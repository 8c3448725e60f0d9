// The best verified metric over time as inline SVG: a step line (the best only changes when a better claim is
// verified), one focusable point per improvement linking to its claim, and a text table for screen readers.
import type { ChartPoint } from '../../service/views/task-page.ts';
import { formatMetric, formatTime, shortId } from './format.ts';

const W = 640;
const H = 220;
const PAD = { left: 72, right: 16, top: 18, bottom: 34 };

export function BestChart(props: { points: ChartPoint[]; metricName: string; direction: 'higher' | 'lower'; now: Date }) {
  const { points } = props;
  if (points.length === 0) return <p class="empty">No verified claims yet: the chart starts with the first one.</p>;
  const t0 = Date.parse(points[0]!.at);
  const t1 = Math.max(props.now.getTime(), Date.parse(points.at(-1)!.at), t0 + 60_000);
  const values = points.map((p) => p.best);
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo === hi) {
    const pad = Math.abs(lo) * 0.05 || 1;
    lo -= pad;
    hi += pad;
  }
  const x = (t: number) => PAD.left + ((t - t0) / (t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (v: number) => PAD.top + (1 - (v - lo) / (hi - lo)) * (H - PAD.top - PAD.bottom);
  const r = (n: number) => Math.round(n * 10) / 10;

  let d = '';
  points.forEach((p, i) => {
    const px = r(x(Date.parse(p.at)));
    const py = r(y(p.best));
    d += i === 0 ? `M${px} ${py}` : ` H${px} V${py}`;
  });
  d += ` H${r(x(t1))}`;
  const baseline = H - PAD.bottom;
  const area = `${d} V${baseline} H${r(x(t0))} Z`;
  const ticks = [lo, (lo + hi) / 2, hi];
  const best = points.at(-1)!;
  // The first point is where the record starts, not an improvement: three points are two improvements.
  const improvements = points.length - 1;
  const summary =
    improvements === 0
      ? `Best ${props.metricName} over time (${props.direction} is better): ${formatMetric(best.best)}, the first verified claim; no improvement on it yet.`
      : `Best ${props.metricName} over time (${props.direction} is better): from ${formatMetric(points[0]!.best)} to ${formatMetric(best.best)} in ${improvements} improvement${improvements === 1 ? '' : 's'}.`;

  return (
    <figure class="panel chart-figure">
      <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby="chart-title">
        <title id="chart-title">{summary}</title>
        {ticks.map((v) => (
          <g>
            <line class="grid-line" x1={PAD.left} x2={W - PAD.right} y1={r(y(v))} y2={r(y(v))} />
            <text class="axis-label" x={PAD.left - 8} y={r(y(v)) + 4} text-anchor="end">
              {formatMetric(Number(v.toPrecision(4)))}
            </text>
          </g>
        ))}
        <text class="axis-label" x={PAD.left} y={H - 8}>
          {axisTime(points[0]!.at)}
        </text>
        <text class="axis-label" x={W - PAD.right} y={H - 8} text-anchor="end">
          {axisTime(new Date(t1))}
        </text>
        <path class="best-area" d={area} />
        <path class="best-line" d={d} />
        {points.map((p) => (
          <a href={`/claims/${p.claimId}`} aria-label={`${props.metricName} ${formatMetric(p.best)}, claim ${shortId(p.claimId)}`}>
            <circle class="point" cx={r(x(Date.parse(p.at)))} cy={r(y(p.best))} r="5">
              <title>{`${formatMetric(p.best)} at ${formatTime(p.at)}`}</title>
            </circle>
          </a>
        ))}
      </svg>
      <figcaption class="note">{summary}</figcaption>
    </figure>
  );
}

/** Axis labels stay short enough for a phone: "11-27 08:43" (UTC, as every time on the page). */
function axisTime(at: string | Date): string {
  return formatTime(at).slice(5, 16);
}
