// A third party's re-check run by the real engine (src/recheck/recheck.ts) against an app served in-process: the
// requests go through app.request(), everything else is as `proofboard recheck` runs it: with no remembered state, or
// with the state a previous run left (`memory`, updated in place), as the state file carries it between runs.
import type { Api } from '../../src/api/app.ts';
import { apiFetcher } from '../../src/cli/http-client.ts';
import { repositoryPins } from '../../src/recheck/pins.ts';
import { recheck } from '../../src/recheck/recheck.ts';
import { readState, type RecheckState } from '../../src/recheck/state-file.ts';

/** Re-checks the named claims, or a whole task (`{ taskId }`, as `recheck --task` does). */
export async function recheckOverApp(app: Api, target: string[] | { taskId: string }, memory?: { state: RecheckState }) {
  const server = 'http://board.test';
  const fetchImpl = ((input: URL | string) => {
    const url = new URL(String(input));
    return app.request(url.pathname + url.search);
  }) as typeof fetch;
  const { vkey } = (await (await app.request('/v1/log/key')).json()) as { vkey: string };
  const { report, state } = await recheck(apiFetcher(server, fetchImpl), Array.isArray(target) ? { claimIds: target } : target, {
    server,
    pinnedVkey: vkey,
    state: memory?.state ?? readState('/nonexistent/proofboard-recheck-state.json'),
    pins: repositoryPins(),
    replayRequested: false,
    replay: null,
    now: new Date(),
    concurrency: 2,
  });
  if (memory) memory.state = state;
  return report;
}
