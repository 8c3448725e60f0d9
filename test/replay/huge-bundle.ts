// Writes a git bundle holding a 2 GiB blob of zeros in about 2 MB, without ever holding or hashing 2 GiB:
// deflate blocks of a 1 MiB zero chunk made with a full flush are independent, so one compressed chunk is
// repeated; the blob's object name is a constant.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { constants, deflateRawSync } from 'node:zlib';

const CHUNK = 1024 ** 2;
export const HUGE_BLOB_BYTES = 2 * 1024 ** 3;
// `head -c 2147483648 /dev/zero | git hash-object --stdin`
const HUGE_BLOB_OID = '77e9132b46cb9535f286f18974872f40049d1a89';

const sha1 = (data: Buffer) => createHash('sha1').update(data).digest();
const objectId = (type: string, body: Buffer) => sha1(Buffer.concat([Buffer.from(`${type} ${body.length}\0`), body]));

function packHeader(type: number, size: number): Buffer {
  const bytes: number[] = [];
  let byte = (type << 4) | (size & 0x0f);
  let rest = Math.floor(size / 16);
  while (rest > 0) {
    bytes.push(byte | 0x80);
    byte = rest & 0x7f;
    rest = Math.floor(rest / 128);
  }
  bytes.push(byte);
  return Buffer.from(bytes);
}

function zlibOf(body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x78, 0x9c]), deflateRawSync(body), adler32BE(body)]);
}

function adler32BE(body: Buffer): Buffer {
  let a = 1;
  let b = 0;
  for (const byte of body) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  const out = Buffer.alloc(4);
  out.writeUInt32BE(((b << 16) | a) >>> 0);
  return out;
}

/** Writes the bundle to `path`; returns the commit it holds. */
export async function writeHugeBlobBundle(path: string): Promise<string> {
  const blobOid = Buffer.from(HUGE_BLOB_OID, 'hex');
  const tree = Buffer.concat([Buffer.from('100644 weights.bin\0'), blobOid]);
  const treeOid = objectId('tree', tree);
  const commit = Buffer.from(
    `tree ${treeOid.toString('hex')}\nauthor M <m@example.invalid> 0 +0000\ncommitter M <m@example.invalid> 0 +0000\n\nhuge\n`,
  );
  const commitOid = objectId('commit', commit).toString('hex');

  const block = deflateRawSync(Buffer.alloc(CHUNK), { finishFlush: constants.Z_FULL_FLUSH });
  const finalBlock = deflateRawSync(Buffer.alloc(0));
  // adler32 of n zero bytes: a = 1, b = n mod 65521.
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE((((HUGE_BLOB_BYTES % 65521) << 16) | 1) >>> 0);

  const hash = createHash('sha1');
  const file = await open(path, 'w');
  try {
    await file.write(`# v2 git bundle\n${commitOid} refs/heads/main\n\n`);
    const write = async (data: Buffer) => {
      hash.update(data);
      await file.write(data);
    };
    const count = Buffer.alloc(12);
    count.write('PACK', 0);
    count.writeUInt32BE(2, 4);
    count.writeUInt32BE(3, 8);
    await write(count);
    await write(Buffer.concat([packHeader(1, commit.length), zlibOf(commit)]));
    await write(Buffer.concat([packHeader(2, tree.length), zlibOf(tree)]));
    await write(Buffer.concat([packHeader(3, HUGE_BLOB_BYTES), Buffer.from([0x78, 0x9c])]));
    for (let i = 0; i < HUGE_BLOB_BYTES / CHUNK; i += 1) await write(block);
    await write(Buffer.concat([finalBlock, adler]));
    await file.write(hash.digest());
  } finally {
    await file.close();
  }
  return commitOid;
}
