// The page's only stylesheet, served by the service itself (no CDN) so the Content-Security-Policy can forbid inline
// styles and every third-party origin. Mobile first; a dark scheme follows the reader's system setting.
export const SITE_CSS = `
:root {
  --bg: #f6f7f9; --panel: #ffffff; --ink: #1b1f24; --muted: #5b6470; --line: #dde1e6; --accent: #2f5bd3;
  --accent-ink: #ffffff; --focus: #f0a500; --code-bg: #f0f2f5;
  --zk: #6a3fc8; --attested: #1f6fb8; --replayed: #0f7f6f; --audited: #2e7d32; --disputed: #b3261e;
  --pending: #8a5a00; --rejected: #6b6f76;
  --radius: 10px;
  font-family: "DejaVu Sans", system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1318; --panel: #171c23; --ink: #e6e9ee; --muted: #9aa4b1; --line: #2a313b; --accent: #7ea2ff;
    --accent-ink: #0f1318; --code-bg: #10151b;
    --zk: #b59cff; --attested: #7fb8f0; --replayed: #5fd0bd; --audited: #86d28a; --disputed: #ff8a80;
    --pending: #f0c36a; --rejected: #a9adb4;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--ink); font-size: 16px; line-height: 1.5; }
a { color: var(--accent); text-underline-offset: 2px; }
a:hover { text-decoration-thickness: 2px; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; border-radius: 4px; }
code, pre, .mono { font-family: "DejaVu Sans Mono", ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.9em; }
.skip-link { position: absolute; left: 0.5rem; top: -3rem; background: var(--accent); color: var(--accent-ink);
  padding: 0.5rem 0.9rem; border-radius: 6px; z-index: 10; text-decoration: none; font-weight: 600; }
.skip-link:focus { top: 0.5rem; }
.site-header { background: var(--panel); border-bottom: 1px solid var(--line); }
.site-header .bar { max-width: 72rem; margin: 0 auto; padding: 0.75rem 1rem; display: flex; align-items: center;
  gap: 1rem; flex-wrap: wrap; }
.brand { display: inline-flex; align-items: center; gap: 0.5rem; font-weight: 700; font-size: 1.1rem;
  color: var(--ink); text-decoration: none; letter-spacing: 0.01em; }
.brand svg { width: 1.6rem; height: 1.6rem; }
.site-nav { display: flex; gap: 1rem; margin-left: auto; font-size: 0.95rem; }
.site-nav a { color: var(--muted); text-decoration: none; padding: 0.25rem 0; }
.site-nav a:hover, .site-nav a[aria-current="page"] { color: var(--ink); text-decoration: underline; }
main { max-width: 72rem; margin: 0 auto; padding: 1.25rem 1rem 3rem; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: 0.25rem 0 0.5rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 0.75rem; }
h3 { font-size: 1rem; margin: 0 0 0.35rem; }
p { margin: 0.4rem 0 0.8rem; }
.lede { color: var(--muted); max-width: 48rem; }
.crumbs { font-size: 0.9rem; color: var(--muted); margin: 0; }
.crumbs a { color: var(--muted); }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: var(--radius); padding: 1rem; }
.grid { display: grid; gap: 1rem; grid-template-columns: 1fr; }
@media (min-width: 48rem) { .grid.two { grid-template-columns: 1fr 1fr; } .grid.cards { grid-template-columns: repeat(2, 1fr); } }
@media (min-width: 64rem) { .grid.cards { grid-template-columns: repeat(3, 1fr); } }
.panel > h2:first-child { margin-top: 0; }
ul.grid { list-style: none; margin: 0; padding: 0; }
figure { margin: 0; }
.card { display: block; height: 100%; color: inherit; text-decoration: none; }
.card:hover { border-color: var(--accent); }
.card h2 { margin: 0 0 0.25rem; font-size: 1.1rem; color: var(--accent); }
.card p { color: var(--muted); font-size: 0.92rem; }
.stats { display: flex; flex-wrap: wrap; gap: 0.4rem 1.2rem; margin: 0.5rem 0 0; padding: 0; list-style: none; font-size: 0.9rem; }
.stats b { font-variant-numeric: tabular-nums; }
.kv { display: grid; grid-template-columns: 1fr; gap: 0.1rem 1rem; margin: 0; }
.kv dt { color: var(--muted); font-size: 0.85rem; margin-top: 0.5rem; }
.kv dd { margin: 0; overflow-wrap: anywhere; }
@media (min-width: 40rem) { .kv { grid-template-columns: 11rem 1fr; } .kv dt { margin-top: 0; } .kv > * { padding: 0.3rem 0; border-bottom: 1px solid var(--line); } }
.table-wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: var(--radius); background: var(--panel); }
table { border-collapse: collapse; width: 100%; font-size: 0.95rem; }
caption { text-align: left; padding: 0.75rem 1rem; color: var(--muted); font-size: 0.9rem; caption-side: top; }
th, td { padding: 0.6rem 0.8rem; text-align: left; border-top: 1px solid var(--line); white-space: nowrap; vertical-align: middle; }
thead th { border-top: 0; font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.04em; color: var(--muted); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.rank { font-weight: 700; width: 3rem; }
td.badges { white-space: normal; min-width: 6rem; }
td.badges .badge { margin: 0.1rem 0.25rem 0.1rem 0; }
tr.top td.rank { color: var(--audited); }
tr.disputed td { color: var(--muted); }
tr.disputed td s { text-decoration-thickness: 2px; text-decoration-color: var(--disputed); }
.reason { white-space: normal; font-size: 0.85rem; color: var(--disputed); }
.badge { display: inline-block; padding: 0.1rem 0.55rem; border-radius: 999px; font-size: 0.78rem; font-weight: 600;
  border: 1px solid currentColor; line-height: 1.5; margin-right: 0.25rem; white-space: nowrap; }
.badge.zk { color: var(--zk); } .badge.attested { color: var(--attested); } .badge.replayed { color: var(--replayed); }
.badge.audited { color: var(--audited); } .badge.disputed { color: var(--disputed); } .badge.pending { color: var(--pending); }
.badge.rejected { color: var(--rejected); } .badge.verified { color: var(--audited); }
.status-line { display: flex; align-items: center; gap: 0.6rem; flex-wrap: wrap; font-size: 1.05rem; margin: 0.5rem 0 1rem; }
.status-line .badge { font-size: 0.9rem; padding: 0.2rem 0.75rem; }
.spinner { width: 0.9rem; height: 0.9rem; border-radius: 50%; border: 2px solid var(--line); border-top-color: var(--pending);
  display: inline-block; animation: spin 1s linear infinite; }
@keyframes spin { to { transform: rotate(360deg); } }
@media (prefers-reduced-motion: reduce) { .spinner { animation: none; } }
.chart { width: 100%; height: auto; display: block; }
.chart .grid-line { stroke: var(--line); stroke-width: 1; }
.chart .axis-label { fill: var(--muted); font-size: 12px; }
.chart .best-line { fill: none; stroke: var(--accent); stroke-width: 2.5; }
.chart .best-area { fill: var(--accent); opacity: 0.08; }
.chart .point { fill: var(--panel); stroke: var(--accent); stroke-width: 2; }
.chart a:focus-visible .point, .chart a:hover .point { fill: var(--accent); }
.empty { color: var(--muted); padding: 1rem; text-align: center; }
.tree, .tree ul { list-style: none; margin: 0; padding-left: 1.1rem; }
.tree { padding-left: 0; }
.tree li { position: relative; padding: 0.2rem 0 0.2rem 0.9rem; border-left: 2px solid var(--line); }
.tree li::before { content: ""; position: absolute; left: 0; top: 0.95rem; width: 0.7rem; border-top: 2px solid var(--line); }
.tree .node { display: inline-flex; gap: 0.5rem; align-items: baseline; flex-wrap: wrap; }
.evidence { list-style: none; margin: 0; padding: 0; display: grid; gap: 0.75rem; }
.evidence li { border-left: 4px solid var(--line); padding: 0.25rem 0 0.25rem 0.8rem; }
.evidence li.zk { border-left-color: var(--zk); } .evidence li.attestation { border-left-color: var(--attested); }
.evidence li.replay { border-left-color: var(--replayed); }
.evidence .proves { margin: 0.2rem 0; }
.evidence li { min-width: 0; }
/* Digests and commitments are long unbroken words: they wrap anywhere rather than widen a phone's page. */
.evidence .hash { overflow-wrap: anywhere; word-break: break-all; }
.evidence li.refused { border-left-color: var(--rejected); }
.evidence .claimed { margin: 0.2rem 0; color: var(--muted); }
.refused-why { margin: 0.2rem 0; color: var(--disputed); }
.evidence .runs { display: inline-block; max-width: 100%; margin: 0.3rem 0; }
.evidence .runs caption { padding: 0.4rem 0.6rem; white-space: nowrap; }
.evidence .runs th, .evidence .runs td { padding: 0.3rem 0.6rem; }
/* Hashes, keys and commits are long unbroken words: outside tables (which scroll) they wrap rather than widen the page. */
.mono, .mono a { overflow-wrap: anywhere; }
.evidence .not-proves { margin: 0.2rem 0; color: var(--muted); font-size: 0.92rem; }
.command { display: flex; gap: 0.5rem; align-items: stretch; flex-wrap: wrap; }
.command pre { flex: 1 1 20rem; margin: 0; padding: 0.75rem 0.9rem; background: var(--code-bg); border: 1px solid var(--line);
  border-radius: 8px; overflow-x: auto; white-space: pre; }
button { font: inherit; cursor: pointer; border-radius: 8px; border: 1px solid var(--accent); background: var(--accent);
  color: var(--accent-ink); padding: 0.5rem 0.9rem; font-weight: 600; }
button:hover { filter: brightness(1.08); }
.note { font-size: 0.88rem; color: var(--muted); }
.history { list-style: none; padding: 0; margin: 0; }
.history li { padding: 0.35rem 0; border-top: 1px solid var(--line); }
.history li:first-child { border-top: 0; }
.filters { display: flex; flex-wrap: wrap; gap: 0.6rem 1rem; align-items: end; margin-bottom: 1rem; }
.filters label { display: flex; flex-direction: column; font-size: 0.85rem; color: var(--muted); gap: 0.2rem; min-width: 0; }
.filters input, .filters select { font: inherit; color: var(--ink); background: var(--bg); border: 1px solid var(--line);
  border-radius: 6px; padding: 0.35rem 0.5rem; max-width: 100%; }
.site-footer { max-width: 72rem; margin: 0 auto; padding: 1rem; color: var(--muted); font-size: 0.85rem; border-top: 1px solid var(--line); }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media (max-width: 40rem) {
  h1 { font-size: 1.35rem; }
  th, td { padding: 0.5rem 0.45rem; }
  .hide-narrow { display: none; }
  thead th { white-space: normal; letter-spacing: 0; }
  table.leaderboard td.mono { font-size: 0.78em; }
  td.badges { min-width: 0; }
  td.badges .badge { font-size: 0.72rem; padding: 0.05rem 0.4rem; }
  .reason { overflow-wrap: anywhere; }
  /* The chart scales down with the screen: larger label units keep the text readable on a phone. */
  .chart .axis-label { font-size: 24px; }
  .site-nav { margin-left: 0; }
}
`;
