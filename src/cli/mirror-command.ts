// `proofboard mirror --from URL --dir DIR`: copies a board, accepts the copy only if `proofboard recheck` passes on it,
// and serves the last accepted copy's read side, so the board outlives its origin (docs/transparency-log.md,
// "Mirrors").
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FsBlobStore } from '../blobs/blob-store.ts';
import { parseCosignerKey, type WitnessPolicy } from '../log/index.ts';
import { copyBoard, type Origin } from '../mirror/copy.ts';
import { startMirrorServer } from '../mirror/mirror-server.ts';
import { loadSnapshot, saveSnapshot, type MirrorSnapshot } from '../mirror/snapshot.ts';
import { repositoryPins } from '../recheck/pins.ts';
import { readState, writeState } from '../recheck/state-file.ts';
import { apiDownload, apiFetcher } from './http-client.ts';
import { UsageError } from './usage.ts';

export const USAGE = `usage: proofboard mirror --from URL --dir DIR [--log-key VKEY] [--witness VKEY ... --witnesses-needed K]
                        [--once | --listen HOST:PORT [--interval SECONDS]]

Copies a board from URL (log entries, checkpoints, claims and bundles, their git bundles, tasks, leaderboards, the
verifier registry) into DIR, re-checks the copy as 'proofboard recheck --task' would for every task, and keeps it only
if every check passes. A refused copy changes nothing: the last accepted copy is kept and served.
  --from URL           the board to copy
  --dir DIR            where the copy lives (snapshot.json, blobs/, the re-check state)
  --log-key VKEY       the origin's log key, pinned (else remembered from the first copy, trusted on first use)
  --witness VKEY       pin a witness (repeat); --witnesses-needed K of them must have cosigned the checkpoint
  --witnesses-needed K
  --once               copy once and exit: 0 accepted, 1 refused
  --listen HOST:PORT   serve the read side there, copying again every --interval seconds (default 300)
  --interval SECONDS
  --max-blob-bytes N   largest blob copied (default 64 MiB)`;

export async function mirrorCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      from: { type: 'string' },
      dir: { type: 'string' },
      'log-key': { type: 'string' },
      witness: { type: 'string', multiple: true },
      'witnesses-needed': { type: 'string' },
      once: { type: 'boolean', default: false },
      listen: { type: 'string' },
      interval: { type: 'string', default: '300' },
      'max-blob-bytes': { type: 'string', default: String(64 * 1024 * 1024) },
    },
  });
  if (!values.from || !values.dir) throw new UsageError('--from URL and --dir DIR are required');
  if (values.once === Boolean(values.listen)) throw new UsageError('give either --once or --listen HOST:PORT');
  const interval = Number(values.interval);
  if (!Number.isInteger(interval) || interval < 1) throw new UsageError('--interval must be a whole number of seconds');
  const maxBlobBytes = Number(values['max-blob-bytes']);
  if (!Number.isInteger(maxBlobBytes) || maxBlobBytes < 1) throw new UsageError('--max-blob-bytes must be a positive integer');
  const witnesses = witnessPolicy(values.witness ?? [], values['witnesses-needed']);
  const from = values.from.replace(/\/+$/, '');
  const dir = values.dir;
  mkdirSync(dir, { recursive: true });
  const blobs = new FsBlobStore(join(dir, 'blobs'));
  const statePath = join(dir, 'recheck-state.json');
  const fetcher = apiFetcher(from);
  const origin: Origin = { url: from, text: (p) => fetcher.text(p), download: (p, max) => apiDownload(from, p, max) };

  let current: MirrorSnapshot | null = await loadSnapshot(dir);
  const syncOnce = async (): Promise<boolean> => {
    const result = await copyBoard(origin, {
      pinnedVkey: values['log-key'],
      witnesses,
      pins: repositoryPins(),
      state: readState(statePath),
      now: new Date(),
      blobs,
      maxBlobBytes,
      log: (l) => console.log(l),
    });
    if (!result.ok) {
      console.error(`proofboard mirror: copy of ${from} REFUSED; ${current ? 'still serving the last accepted copy' : 'nothing accepted yet'}:`);
      for (const f of result.failures) console.error(`  - ${f}`);
      return false;
    }
    await saveSnapshot(dir, result.snapshot);
    writeState(statePath, result.state);
    current = result.snapshot;
    console.log(`copied ${from}: log size ${result.snapshot.entries.length}, ${Object.keys(result.snapshot.claims).length} claims, ${result.checked} re-checked, ${result.snapshot.blobs.length} blobs`);
    return true;
  };
  const trySync = async () => {
    try {
      return await syncOnce();
    } catch (e) {
      // The origin down or misbehaving in transport: nothing decided, the last accepted copy is still served.
      console.error(`proofboard mirror: could not copy ${from}: ${e instanceof Error ? e.message : String(e)}`);
      return false;
    }
  };

  if (values.once) return (await syncOnce()) ? 0 : 1;

  await trySync();
  if (!current) {
    console.error('proofboard mirror: no accepted copy to serve');
    return 1;
  }
  const listen = values.listen!;
  const i = listen.lastIndexOf(':');
  const port = Number(listen.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--listen ${listen}: expected HOST:PORT`);
  const server = await startMirrorServer({ snapshot: () => current!, blobs, host: listen.slice(0, i).replace(/^\[|\]$/g, ''), port });
  console.log(`mirror of ${from} serving ${server.url}`);
  let syncing = Promise.resolve();
  const timer = setInterval(() => {
    syncing = syncing.then(async () => void (await trySync()));
  }, interval * 1000);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearInterval(timer);
  await syncing;
  await server.close();
  return 0;
}

function witnessPolicy(vkeys: string[], needed: string | undefined): WitnessPolicy | undefined {
  if (vkeys.length === 0) {
    if (needed !== undefined) throw new UsageError('--witnesses-needed needs at least one --witness');
    return undefined;
  }
  const witnesses = vkeys.map((v) => {
    const key = parseCosignerKey(v);
    if (!key.ok) throw new UsageError(`--witness ${v}: not a witness vkey (${key.detail})`);
    return key.value;
  });
  const k = needed === undefined ? witnesses.length : Number(needed);
  if (!Number.isInteger(k) || k < 1 || k > witnesses.length) throw new UsageError(`--witnesses-needed must be 1 to ${witnesses.length}`);
  return { witnesses, needed: k };
}
