// proofboard admin task add DIR: registers a task pack from a folder (docs/define-a-task.md). Reads and checks the
// folder (src/attest/task-pack-folder.ts), listing every problem at once (exit 2, nothing uploaded), then uploads each
// file by digest (hidden evaluation data through the operator's hidden route) and registers the task with its pack,
// and its circuit when the folder has one (circuit/). The server checks the pack again and refuses one whose files it
// does not hold.
import { readFile } from 'node:fs/promises';
import { loadTaskPack, PACK_PARTS } from '../attest/task-pack-folder.ts';
import { apiRequest } from './http-client.ts';

export type TaskAddOptions = { server: string; json: boolean; headers: () => Record<string, string> };

/** `admin task add DIR`: exit 2 with every problem listed, or 0 once the pack is uploaded and the task registered. */
export async function taskPackAdd(dir: string, opts: TaskAddOptions): Promise<number> {
  const loaded = await loadTaskPack(dir);
  if (!loaded.ok) {
    if (opts.json) console.log(JSON.stringify({ problems: loaded.problems }));
    else {
      console.error(`proofboard admin task add: ${dir} has ${loaded.problems.length} problem(s); nothing was uploaded:`);
      for (const p of loaded.problems) console.error(`  ${p.path || '(task)'}: ${p.message}`);
    }
    return 2;
  }
  const { definition, files } = loaded.pack;
  const headers = opts.headers();
  let uploaded = 0;
  for (const part of PACK_PARTS) {
    // Hidden evaluation data goes through the operator's route, which marks it hidden: the public route never serves it.
    const hidden = part === 'eval' && definition.pack.evalData.public !== true;
    const route = hidden ? '/v1/blobs/hidden/' : '/v1/blobs/';
    for (const f of files[part]) {
      const bytes = await readFile(f.local);
      // The file may have changed since it was hashed; the server recomputes the digest and refuses a mismatch.
      await apiRequest(opts.server, 'PUT', `${route}sha256:${f.sha256}`, new Uint8Array(bytes), hidden ? headers : {});
      uploaded++;
    }
  }
  const { circuit } = loaded.pack;
  // The circuit's files go first too: the task and its circuit are registered back to back, nothing left half done
  // by a missing upload.
  for (const f of circuit ? Object.values(circuit.files) : []) {
    await apiRequest(opts.server, 'PUT', `/v1/blobs/sha256:${f.sha256}`, new Uint8Array(await readFile(f.local)));
    uploaded++;
  }
  const res = await apiRequest<{ id: string; definitionLogIndex?: number | null }>(opts.server, 'POST', '/v1/tasks', definition, headers);
  const registered = circuit
    ? (await apiRequest<{ id: string; logIndex: number }>(opts.server, 'POST', `/v1/tasks/${encodeURIComponent(res.body.id)}/circuits`, circuit.registration, headers)).body
    : null;
  if (opts.json) console.log(JSON.stringify({ ...res.body, circuit: registered }));
  else {
    console.log(`task ${res.body.id} registered with its pack (${uploaded} file(s); definition at log index ${res.body.definitionLogIndex ?? '?'})`);
    if (registered) console.log(`circuit ${registered.id} registered (log index ${registered.logIndex})`);
  }
  return 0;
}
