// The log's side of a re-check: which key to trust (pinned, remembered, or on first use — loudly), the latest signed
// checkpoint, and its consistency with the last checkpoint this machine saw. A split view (two signed checkpoints of
// one size with different roots) or a rollback is proof of misbehaviour; both notes are kept in the report.
import { fromBase64, toBase64 } from '../attest/bytes.ts';
import {
  parseVerifierKey,
  verifyCheckpoint,
  verifyCheckpointConsistency,
  verifyWitnessQuorum,
  type Checkpoint,
  type NoteVerifierKey,
  type WitnessPolicy,
} from '../log/index.ts';
import { logKeySchema, proofSchema } from './bundle.ts';
import type { Fetcher } from './http.ts';
import { fail, pass, skip, warn, type Check } from './report.ts';
import type { ServerState } from './state-file.ts';

export type TrustedLog = { key: NoteVerifierKey; vkey: string; latest: Checkpoint; latestNote: string };

export async function establishLog(
  fetcher: Fetcher,
  opts: { pinnedVkey?: string | undefined; remembered?: ServerState | undefined; witnesses?: WitnessPolicy | undefined; now?: Date },
): Promise<{ checks: Check[]; log: TrustedLog | null }> {
  const checks: Check[] = [];
  let vkey: string;
  if (opts.pinnedVkey) {
    vkey = opts.pinnedVkey;
    if (opts.remembered && opts.remembered.vkey !== vkey) {
      checks.push(warn('log.key', `the pinned key differs from the key remembered for this server (${opts.remembered.vkey}); using the pinned one`));
    } else checks.push(pass('log.key', `pinned: ${vkey}`));
  } else if (opts.remembered) {
    vkey = opts.remembered.vkey;
    checks.push(pass('log.key', `remembered from the first visit: ${vkey}`));
  } else {
    vkey = (await fetcher.json('/v1/log/key', logKeySchema)).vkey;
    checks.push(
      warn('log.key', `TRUST ON FIRST USE: no --log-key given and none remembered; trusting the server's own key ${vkey}. Compare it with one published elsewhere.`),
    );
  }
  const key = parseVerifierKey(vkey);
  if (!key.ok) return { checks: [...checks, fail('log.key', `not a log verifier key: ${key.detail}`)], log: null };

  // With pinned witnesses the checkpoint to rely on is the latest one they cosigned: the newest may not be yet.
  let note: string;
  if (opts.witnesses) {
    try {
      note = await fetcher.text('/v1/log/checkpoint/cosigned');
    } catch (e) {
      return { checks: [...checks, fail('log.witnesses', `no cosigned checkpoint: ${e instanceof Error ? e.message : String(e)}`)], log: null };
    }
  } else note = await fetcher.text('/v1/log/checkpoint');
  const verified = verifyCheckpoint(note, key.value);
  if (!verified.ok) return { checks: [...checks, fail('log.checkpoint', `the checkpoint does not verify with the log key: ${verified.reason} (${verified.detail})`)], log: null };
  const latest = verified.checkpoint;
  checks.push(pass('log.checkpoint', `signed checkpoint of size ${latest.size}`));
  if (opts.witnesses) checks.push(checkWitnesses(note, opts.witnesses, opts.now ?? new Date()));

  const old = opts.remembered?.checkpoint;
  if (!old) checks.push(skip('log.consistency', 'first visit: nothing to compare with yet (this checkpoint is remembered)'));
  else {
    const before = verifyCheckpoint(old, key.value);
    if (!before.ok) checks.push(warn('log.consistency', 'the remembered checkpoint was signed by another key; not compared'));
    else checks.push(await checkConsistency(fetcher, before.checkpoint, latest, old, note));
  }
  return { checks, log: { key: key.value, vkey, latest, latestNote: note } };
}

/** Checks that `newer` extends `older` (either order of sizes is handled by the caller passing the smaller first). */
export async function checkConsistency(fetcher: Fetcher, older: Checkpoint, newer: Checkpoint, olderNote: string, newerNote: string): Promise<Check> {
  const id = 'log.consistency';
  if (older.size > newer.size) {
    return fail(id, `rollback: the log shrank from ${older.size} to ${newer.size} entries. Evidence:\n${olderNote}\n${newerNote}`);
  }
  if (older.size === newer.size) {
    if (toBase64(older.rootHash) === toBase64(newer.rootHash)) return pass(id, `same tree as last seen (size ${newer.size})`);
    return fail(id, `split view: two signed checkpoints of size ${newer.size} with different roots (the tree was rewritten and re-signed). Evidence:\n${olderNote}\n${newerNote}`);
  }
  const { proof } = await fetcher.json(`/v1/log/proof/consistency?from=${older.size}&to=${newer.size}`, proofSchema);
  let hashes: Uint8Array[];
  try {
    hashes = proof.map((p) => fromBase64(p, 'consistency proof'));
  } catch {
    return fail(id, 'malformed consistency proof');
  }
  const r = verifyCheckpointConsistency(older, newer, hashes);
  return r.ok
    ? pass(id, `size ${newer.size} extends the size ${older.size} seen before`)
    : fail(id, `history rewritten: size ${newer.size} does not extend the size ${older.size} seen before (${r.reason}). Evidence:\n${olderNote}\n${newerNote}`);
}

/**
 * k of n pinned witnesses must have cosigned the checkpoint (C2SP tlog-cosignature). Without it a log that shows one
 * history to this reader and another to everyone else (a split view) goes unseen: an honest witness cosigns only
 * one of them, so a fork needs `needed` witnesses to collude.
 */
export function checkWitnesses(note: string, policy: WitnessPolicy, now: Date, id = 'log.witnesses'): Check {
  const r = verifyWitnessQuorum(note, policy, { now });
  const bad = (r.invalid ?? []).map((i) => `; ${i.detail}`).join('');
  if (!r.ok) return fail(id, `${r.detail}${bad}`);
  const names = r.cosignedBy.map((c) => `${c.key.name} (${new Date(c.timestamp * 1000).toISOString()})`).join(', ');
  return bad ? fail(id, `cosigned by ${names}, but a pinned witness's line does not verify${bad}`) : pass(id, `cosigned by ${r.cosignedBy.length} of ${policy.witnesses.length} pinned witnesses (${policy.needed} needed): ${names}`);
}
