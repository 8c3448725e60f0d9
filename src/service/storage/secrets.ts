// Service secrets: the log signing key, the operator token and the audit key. From the environment when set (several
// API processes must share them), otherwise created once in the data folder with mode 0600.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ed25519PublicKey } from '../../attest/ed25519.ts';
import { fromHex, toHex } from '../../attest/bytes.ts';

export type ServiceSecrets = {
  logSecretKey: Uint8Array;
  logPublicKey: Uint8Array;
  operatorToken: string;
  operatorTokenSource: 'env' | 'file';
  /** Keys the audit draw (src/service/storage/audits.ts). A secret of its own, never derived from another. */
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
    auditKey: loadAuditKey(dir, env, logSecretKey),
  };
}

/**
 * The audit key: whoever knows it can tell which claims will be audited, and so which need not be honest. It was once
 * derived from the log key, so the log key's holders (and any process with PROOFBOARD_LOG_KEY) could compute every
 * draw; it is its own random secret now, made at the first start of a data folder that has none (folders from before
 * get one then). Several API processes share it through PROOFBOARD_AUDIT_KEY, as they share the log key.
 */
function loadAuditKey(dir: string, env: NodeJS.ProcessEnv, logSecretKey: Uint8Array): Uint8Array {
  const hex = env.PROOFBOARD_AUDIT_KEY || readOrCreate(join(dir, 'audit-key'), () => toHex(randomBytes(32)));
  const key = fromHex(hex, 'PROOFBOARD_AUDIT_KEY', 32);
  // One secret in two roles would give the log key's holders the draws again.
  if (timingSafeEqual(key, logSecretKey)) throw new Error('PROOFBOARD_AUDIT_KEY must differ from the log key');
  return key;
}
