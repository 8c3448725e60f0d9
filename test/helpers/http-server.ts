// Serves an app on a real loopback port for tests whose client speaks HTTP (the replay worker, the CLI).
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
