// Content-addressed blob storage (git bundles, model artifacts, logs).
//
// Contract:
// - put() is atomic and idempotent: a blob is visible only after all its bytes are durable under its digest, and
//   putting the same bytes twice stores them once. put() recomputes the digest; it never trusts the caller's.
// - has() and open() see a digest only once put() has accepted it; open() streams its bytes, or gives null when the
//   blob is absent. Readers never see a partial blob.
// - Concurrency: any number of writers and readers; two writers of the same digest both succeed.
// - Faults (disk full, I/O errors) throw; a size or digest mismatch is a refusal ({ ok: false } in BlobPut), not a fault.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

export type BlobPut =
  | { ok: true; sha256: string; size: number; created: boolean }
  | { ok: false; reason: 'digest_mismatch' | 'blob_too_large'; message: string };

export interface BlobStore {
  put(expectedSha256: string, body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<BlobPut>;
  has(sha256: string): Promise<boolean>;
  /** A stream of the blob's bytes, or null when absent. */
  open(sha256: string): Promise<{ size: number; stream: Readable } | null>;
}

export const SHA256_HEX_RE = /^[0-9a-f]{64}$/;

export class FsBlobStore implements BlobStore {
  constructor(private readonly root: string) {}

  private pathOf(sha256: string): string | null {
    if (!SHA256_HEX_RE.test(sha256)) return null;
    return join(this.root, 'sha256', sha256.slice(0, 2), sha256);
  }

  async has(sha256: string): Promise<boolean> {
    const path = this.pathOf(sha256);
    if (!path) return false;
    return stat(path).then(
      () => true,
      () => false,
    );
  }

  async open(sha256: string) {
    const path = this.pathOf(sha256);
    if (!path) return null;
    const info = await stat(path).catch(() => null);
    if (!info) return null;
    return { size: info.size, stream: createReadStream(path) };
  }

  async put(expectedSha256: string, body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<BlobPut> {
    const final = this.pathOf(expectedSha256);
    if (!final) throw new Error('put: digest must be 64 lowercase hex');
    await mkdir(join(this.root, 'tmp'), { recursive: true });
    await mkdir(join(this.root, 'sha256', expectedSha256.slice(0, 2)), { recursive: true });
    const tmp = join(this.root, 'tmp', `${randomBytes(12).toString('hex')}.part`);
    const hash = createHash('sha256');
    const file = await open(tmp, 'wx', 0o644);
    let size = 0;
    try {
      for await (const chunk of body) {
        size += chunk.length;
        // Stop reading at the limit: an attacker cannot make us write more than maxBytes to disk.
        if (size > maxBytes) {
          return { ok: false, reason: 'blob_too_large', message: `blob over the limit of ${maxBytes} bytes` };
        }
        hash.update(chunk);
        await file.write(chunk);
      }
      const actual = hash.digest('hex');
      // The address is the content: a blob stored under a digest it does not have would poison every reader.
      if (actual !== expectedSha256) {
        return { ok: false, reason: 'digest_mismatch', message: `body hashes to sha256:${actual}` };
      }
      await file.sync();
      await file.close();
      const existed = await this.has(expectedSha256);
      await rename(tmp, final);
      return { ok: true, sha256: actual, size, created: !existed };
    } finally {
      await file.close().catch(() => {});
      await rm(tmp, { force: true });
    }
  }
}
