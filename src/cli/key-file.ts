// Key files: JSON {publicKey, secretKey} in hex, written with mode 0600 and never overwritten.
import { readFileSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { fromHex, toHex } from '../attest/bytes.ts';
import { ed25519PublicKey, generateEd25519Key } from '../attest/ed25519.ts';

export type KeyPair = { publicKey: Uint8Array; secretKey: Uint8Array; publicKeyHex: string };

const keyFileSchema = z.object({ publicKey: z.string(), secretKey: z.string() }).strict();

export function defaultKeyPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.PROOFBOARD_KEY ?? join(homedir(), '.config', 'proofboard', 'key.json');
}

export function writeNewKeyFile(path: string): KeyPair {
  const { publicKey, secretKey } = generateEd25519Key();
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify({ publicKey: toHex(publicKey), secretKey: toHex(secretKey) }, null, 2)}\n`, {
    mode: 0o600,
    flag: 'wx',
  });
  return { publicKey, secretKey, publicKeyHex: toHex(publicKey) };
}

export function readKeyFile(path: string): KeyPair {
  const mode = statSync(path).mode & 0o777;
  // A secret key readable by others is as good as published: refuse it rather than sign with it.
  if (mode & 0o077) throw new Error(`${path}: key file must not be readable by group or others (chmod 600)`);
  const parsed = keyFileSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
  const secretKey = fromHex(parsed.secretKey, 'secretKey', 32);
  const publicKey = fromHex(parsed.publicKey, 'publicKey', 32);
  if (toHex(ed25519PublicKey(secretKey)) !== parsed.publicKey) throw new Error(`${path}: publicKey does not match secretKey`);
  return { publicKey, secretKey, publicKeyHex: parsed.publicKey };
}
