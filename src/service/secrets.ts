// Service secrets: the log signing key and the operator token. From the environment when set (several API
// processes must share them), otherwise created once in the data folder with mode 0600.
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ed25519PublicKey } from '../attest/ed25519.ts';
import { fromHex, toHex } from '../attest/bytes.ts';

export type ServiceSecrets = {
  logSecretKey: Uint8Array;
  logPublicKey: Uint8Array;
  operatorToken: string;
  operatorTokenSource: 'env' | 'file';
  auditKey: Uint8Array;
};

function readOrCreate(path: string, create: () => string): string {
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const value = create();
  // 'wx': never overwrite a secret another process just created.
  try {
    writeFileSync(path, `${value}\n`, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  return readFileSync(path, 'utf8').trim();
}

export function loadSecrets(dataDir: string, env: NodeJS.ProcessEnv = process.env): ServiceSecrets {
  const dir = join(dataDir, 'secrets');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const logHex = env.PROOFBOARD_LOG_KEY || readOrCreate(join(dir, 'log-key'), () => toHex(randomBytes(32)));
  const logSecretKey = fromHex(logHex, 'PROOFBOARD_LOG_KEY', 32);
  const operatorToken =
    env.PROOFBOARD_OPERATOR_TOKEN || readOrCreate(join(dir, 'operator-token'), () => randomBytes(24).toString('base64url'));
  return {
    logSecretKey,
    logPublicKey: ed25519PublicKey(logSecretKey),
    operatorToken,
    operatorTokenSource: env.PROOFBOARD_OPERATOR_TOKEN ? 'env' : 'file',
    // Derived, not stored: every process holding the log key makes the same unpredictable audit choices.
    auditKey: createHmac('sha256', logSecretKey).update('proofboard audit selection v1').digest(),
  };
}
