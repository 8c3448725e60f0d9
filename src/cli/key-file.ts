// Key files: JSON {publicKey, secretKey} in hex, written with mode 0600 and never overwritten. Every error names the
// file and what to do about it: a person reads these, usually right after following a quickstart.
import { existsSync, readFileSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { fromHex, toHex } from '../attest/bytes.ts';
import { ed25519PublicKey, generateEd25519Key } from '../attest/ed25519.ts';
import { firstIssue } from '../attest/validation.ts';

export type KeyPair = { publicKey: Uint8Array; secretKey: Uint8Array; publicKeyHex: string };

const keyFileSchema = z.object({ publicKey: z.string(), secretKey: z.string() }).strict();

export function defaultKeyPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.PROOFBOARD_KEY ?? join(homedir(), '.config', 'proofboard', 'key.json');
}

/** A verifier key is not a submitter key: a separate default path keeps the two roles from sharing one secret. */
export function defaultVerifierKeyPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.PROOFBOARD_VERIFIER_KEY ?? join(homedir(), '.config', 'proofboard', 'verifier-key.json');
}

/** `keygen` names the command that makes this kind of key, for the "no key file" hint. */
export function writeNewKeyFile(path: string, keygen = 'proofboard keygen'): KeyPair {
  // Overwriting would destroy what may be the only copy of a key that has a record (and a reputation) on a server.
  if (existsSync(path)) {
    throw new Error(`${path} already exists; ${keygen} never overwrites a key. Move that file away first, or pass --out OTHER_FILE`);
  }
  const { publicKey, secretKey } = generateEd25519Key();
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify({ publicKey: toHex(publicKey), secretKey: toHex(secretKey) }, null, 2)}\n`, {
    mode: 0o600,
    flag: 'wx',
  });
  return { publicKey, secretKey, publicKeyHex: toHex(publicKey) };
}

/** `keygen` is the command that makes this kind of key, named in the error when the file is missing. */
export function readKeyFile(path: string, keygen = 'proofboard keygen'): KeyPair {
  if (!existsSync(path)) throw new Error(`no key file at ${path}: run \`${keygen}\` to make one, or pass --key FILE`);
  const mode = statSync(path).mode & 0o777;
  // A secret key readable by others is as good as published: refuse it rather than sign with it.
  if (mode & 0o077) throw new Error(`${path}: key file must not be readable by group or others (chmod 600 ${path})`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not a key file (not JSON: ${e instanceof Error ? e.message : String(e)})`);
  }
  const parsed = keyFileSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${path}: not a key file ({publicKey, secretKey} in hex expected): ${firstIssue(parsed.error)}`);
  let secretKey: Uint8Array;
  let publicKey: Uint8Array;
  try {
    secretKey = fromHex(parsed.data.secretKey, 'secretKey', 32);
    publicKey = fromHex(parsed.data.publicKey, 'publicKey', 32);
  } catch (e) {
    throw new Error(`${path}: not a key file: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (toHex(ed25519PublicKey(secretKey)) !== parsed.data.publicKey) throw new Error(`${path}: publicKey does not match secretKey`);
  return { publicKey, secretKey, publicKeyHex: parsed.data.publicKey };
}
