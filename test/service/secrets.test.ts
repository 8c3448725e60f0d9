// The service secrets in the data folder (issue 15, finding 10): the audit key is a secret of its own, made at first
// start beside the log key and the operator token (mode 0600), kept across restarts, never derived from the log key,
// so that whoever holds the log key (or a key derived from it) cannot predict which claims are audited.
import { afterEach, describe, expect, it } from 'vitest';
import { createHash, createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSecrets } from '../../src/service/storage/secrets.ts';
import { auditDraw } from '../../src/service/storage/audits.ts';
import { toHex } from '../../src/attest/bytes.ts';

const dirs: string[] = [];
const dataDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'proofboard-secrets-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Everything a holder of the log key could compute as an audit key: the key itself and its obvious derivations. */
function derivableFromLogKey(logSecretKey: Uint8Array, logPublicKey: Uint8Array): string[] {
  const hmac = (label: string) => toHex(createHmac('sha256', logSecretKey).update(label).digest());
  return [
    toHex(logSecretKey),
    toHex(logPublicKey),
    hmac('proofboard audit selection v1'),
    hmac('proofboard audit v1'),
    createHash('sha256').update(logSecretKey).digest('hex'),
  ];
}

describe('service secrets', () => {
  it('makes an audit key of its own at first start, mode 0600, beside the others', () => {
    const dir = dataDir();
    const secrets = loadSecrets(dir, {});
    const file = join(dir, 'secrets', 'audit-key');
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(secrets.auditKey).toHaveLength(32);
    expect(readFileSync(file, 'utf8').trim()).toBe(toHex(secrets.auditKey));
    expect(derivableFromLogKey(secrets.logSecretKey, secrets.logPublicKey)).not.toContain(toHex(secrets.auditKey));
  });

  it('keeps the audit key across restarts; two data folders with the same log key draw differently', () => {
    const dir = dataDir();
    const first = loadSecrets(dir, {});
    const again = loadSecrets(dir, {});
    expect(toHex(again.auditKey)).toBe(toHex(first.auditKey));
    const logKey = toHex(first.logSecretKey);
    const other = loadSecrets(dataDir(), { PROOFBOARD_LOG_KEY: logKey });
    expect(toHex(other.logSecretKey)).toBe(logKey);
    expect(toHex(other.auditKey)).not.toBe(toHex(first.auditKey));
    const claim = 'a'.repeat(64);
    expect(auditDraw(other.auditKey, claim)).not.toBe(auditDraw(first.auditKey, claim));
  });

  it('gives a data folder from before (log key and token, no audit key) a new audit key at start', () => {
    const dir = dataDir();
    mkdirSync(join(dir, 'secrets'), { recursive: true, mode: 0o700 });
    const logKey = 'ab'.repeat(32);
    writeFileSync(join(dir, 'secrets', 'log-key'), `${logKey}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'secrets', 'operator-token'), 'old-token\n', { mode: 0o600 });
    const secrets = loadSecrets(dir, {});
    expect(toHex(secrets.logSecretKey)).toBe(logKey);
    expect(secrets.operatorToken).toBe('old-token');
    expect(existsSync(join(dir, 'secrets', 'audit-key'))).toBe(true);
    expect(derivableFromLogKey(secrets.logSecretKey, secrets.logPublicKey)).not.toContain(toHex(secrets.auditKey));
    expect(toHex(loadSecrets(dir, {}).auditKey)).toBe(toHex(secrets.auditKey));
  });

  it('takes PROOFBOARD_AUDIT_KEY from the environment (several API processes share it) and refuses a malformed one', () => {
    const dir = dataDir();
    const shared = 'cd'.repeat(32);
    expect(toHex(loadSecrets(dir, { PROOFBOARD_AUDIT_KEY: shared }).auditKey)).toBe(shared);
    expect(existsSync(join(dir, 'secrets', 'audit-key'))).toBe(false);
    expect(() => loadSecrets(dir, { PROOFBOARD_AUDIT_KEY: 'xyz' })).toThrow(/PROOFBOARD_AUDIT_KEY/);
    const logKey = 'ef'.repeat(32);
    expect(() => loadSecrets(dir, { PROOFBOARD_LOG_KEY: logKey, PROOFBOARD_AUDIT_KEY: logKey })).toThrow(/PROOFBOARD_AUDIT_KEY/);
  });
});
