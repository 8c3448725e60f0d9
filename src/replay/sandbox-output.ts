// Captures a stream up to a byte cap. Beyond the cap the bytes are read and dropped, so that a job that
// prints without end can neither exhaust the worker's memory nor block forever on a full pipe.
import type { Readable } from 'node:stream';

export interface CappedOutput {
  bytes(): Buffer;
  totalBytes(): number;
  truncated(): boolean;
}

export function captureCapped(stream: Readable, capBytes: number, onTotal: (total: number) => void): CappedOutput {
  const chunks: Buffer[] = [];
  let kept = 0;
  let total = 0;
  stream.on('data', (chunk: Buffer) => {
    total += chunk.length;
    if (kept < capBytes) {
      const part = chunk.length <= capBytes - kept ? chunk : chunk.subarray(0, capBytes - kept);
      chunks.push(part);
      kept += part.length;
    }
    onTotal(total);
  });
  return {
    bytes: () => Buffer.concat(chunks, kept),
    totalBytes: () => total,
    truncated: () => total > kept,
  };
}
