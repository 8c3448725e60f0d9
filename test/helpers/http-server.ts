// Serves an app on a real loopback port for tests whose client speaks HTTP (the replay worker, the CLI).
import type { ServerResponse } from 'node:http';
import { serve } from '@hono/node-server';
import type { Api } from '../../src/api/app.ts';

export async function serveApp(app: Api): Promise<{ url: string; close: () => Promise<void> }> {
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

/**
 * An answer with no content-length that never ends: only reading tells the size, so a client must cut it at its cap.
 * Writes 1 MiB chunks as fast as the client reads, until the client goes away.
 */
export function answerEndlessly(res: ServerResponse, contentType: string): void {
  res.writeHead(200, { 'content-type': contentType });
  const chunk = Buffer.alloc(1 << 20, 0x20);
  const pump = () => {
    while (res.write(chunk));
  };
  res.on('drain', pump);
  pump();
}
