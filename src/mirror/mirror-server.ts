// The mirror's read side over HTTP: the origin's read API (log, proofs, tasks, leaderboards, claims, bundles,
// registry, blobs) from the last accepted copy, and plain pages: the leaderboards, each task, each claim. Everything
// shown comes from the copy (untrusted text): it is escaped. Read-only: every other
// method or path is a 404/405, and nothing a client sends reaches the copy.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { BlobStore } from '../blobs/blob-store.ts';
import { answer, type MirrorSnapshot } from './snapshot.ts';

export type RunningMirror = { url: string; close(): Promise<void> };

const leaderboardSchema = z.object({ entries: z.array(z.object({ claimId: z.string() }).passthrough()) }).passthrough();
const claimSchema = z
  .object({ id: z.string(), task: z.string(), commit: z.string(), status: z.string(), metric: z.object({ name: z.string(), value: z.number() }).passthrough() })
  .passthrough();

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A page a person can read: which origin, when copied, and each task's leaderboard with links to the bundles. */
function indexPage(s: MirrorSnapshot): string {
  const sections = Object.entries(s.taskPages).map(([id, page]) => {
    const parsed = leaderboardSchema.safeParse(JSON.parse(page.leaderboard));
    const rows = parsed.success
      ? parsed.data.entries
          .map((e) => {
            const metric = (e as { metric?: { value?: unknown } }).metric?.value;
            return `<li><a href="/claims/${escape(e.claimId)}">${escape(e.claimId.slice(0, 12))}</a> ${escape(String(metric ?? ''))}</li>`;
          })
          .join('')
      : '';
    return `<h2><a href="/tasks/${escape(id)}">${escape(id)}</a></h2><ol>${rows}</ol>`;
  });
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>proofboard mirror</title></head><body>
<h1>Mirror of ${escape(s.origin)}</h1>
<p>Copied ${escape(s.copiedAt)}, log size ${s.entries.length}; every copy passed <code>proofboard recheck</code> before it was served.
Check it yourself: <code>proofboard recheck --task TASK --server THIS_URL --log-key LOG_VKEY</code>.</p>
${sections.join('\n')}
</body></html>`;
}

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head><body>${body}</body></html>`;

/** One task's leaderboard, as the origin ranked it, with links to each claim's page. */
function taskPage(s: MirrorSnapshot, id: string): string | null {
  const copied = s.taskPages[id];
  if (!copied) return null;
  const board = leaderboardSchema.safeParse(JSON.parse(copied.leaderboard));
  const rows = board.success
    ? board.data.entries
        .map((e) => `<li><a href="/claims/${escape(e.claimId)}">${escape(e.claimId.slice(0, 12))}</a> ${escape(String((e as { metric?: { value?: unknown } }).metric?.value ?? ''))}</li>`)
        .join('')
    : '';
  return page(`${id} (mirror)`, `<h1>${escape(id)}</h1><p>Mirror of ${escape(s.origin)}, copied ${escape(s.copiedAt)}.</p><ol>${rows}</ol>`);
}

/** One claim: what it says, its verdict, and how to re-check it against this mirror. */
function claimPage(s: MirrorSnapshot, id: string): string | null {
  const copied = s.claims[id];
  if (!copied) return null;
  const claim = claimSchema.safeParse(JSON.parse(copied.claim));
  if (!claim.success) return null;
  const c = claim.data;
  return page(
    `Claim ${id.slice(0, 12)} (mirror)`,
    `<h1>Claim ${escape(id.slice(0, 12))}</h1>
<p>Task <a href="/tasks/${escape(c.task)}">${escape(c.task)}</a>, commit <code>${escape(c.commit)}</code>, ${escape(c.metric.name)} ${escape(String(c.metric.value))}: <strong>${escape(c.status)}</strong>.</p>
<p><a href="/v1/claims/${escape(id)}/bundle">The re-check bundle</a>. Check it yourself: <code>proofboard recheck ${escape(id)} --server THIS_MIRROR --log-key LOG_VKEY</code> (the log key from the origin's operator, not from this mirror).</p>`,
  );
}

export async function startMirrorServer(opts: {
  snapshot: () => MirrorSnapshot;
  blobs: BlobStore;
  host: string;
  port: number;
}): Promise<RunningMirror> {
  async function handle(req: IncomingMessage, res: ServerResponse) {
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'a mirror is read-only\n');
    const s = opts.snapshot();
    const url = new URL(req.url ?? '/', 'http://mirror');
    if (url.pathname === '/' || url.pathname === '/tasks') return send(200, 'text/html; charset=utf-8', indexPage(s));
    const html = /^\/tasks\/([^/]+)$/.exec(url.pathname)
      ? taskPage(s, decodeURIComponent(url.pathname.slice('/tasks/'.length)))
      : /^\/claims\/[0-9a-f]{64}$/.test(url.pathname)
        ? claimPage(s, url.pathname.slice('/claims/'.length))
        : undefined;
    if (html !== undefined) return html ? send(200, 'text/html; charset=utf-8', html) : send(404, 'text/plain', 'not in this mirror\n');
    const blob = /^\/v1\/blobs\/sha256:([0-9a-f]{64})$/.exec(url.pathname);
    if (blob) {
      const opened = s.blobs.includes(blob[1]!) ? await opts.blobs.open(blob[1]!) : null;
      if (!opened) return send(404, 'application/json', JSON.stringify({ error: { code: 'unknown_blob', message: 'no such blob in this mirror' } }));
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(opened.size) });
      opened.stream.pipe(res);
      return;
    }
    const a = await answer(s, `${url.pathname}${url.search}`);
    return send(a.status, a.type, a.body);
  }
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
