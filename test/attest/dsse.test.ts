import { readFileSync } from 'node:fs';
import { p256 } from '@noble/curves/nist.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64, utf8 } from '../../src/attest/bytes.ts';
import { decodeDsse, dsseEnvelopeSchema, preAuthEncoding, signDsse, verifyDsseSignature } from '../../src/attest/dsse.ts';
import { ed25519PublicKey } from '../../src/attest/ed25519.ts';

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const vectorsDir = new URL('../vectors/dsse/', import.meta.url);

describe('DSSE protocol.md example (P-256)', () => {
  const ex = JSON.parse(readFileSync(new URL('protocol-example.json', vectorsDir), 'utf8'));
  const pae = preAuthEncoding(ex.payloadType, utf8(ex.serializedBody));

  it('our PAE is the published one', () => {
    expect(Buffer.from(pae).toString('utf8')).toBe(ex.pae);
    expect(Buffer.from(fromBase64(ex.envelope.payload, 'payload')).toString('utf8')).toBe(ex.serializedBody);
  });

  it('the published signature verifies over our PAE, and RFC 6979 reproduces it', () => {
    const point = (n: string) => BigInt(n).toString(16).padStart(64, '0');
    const publicKey = hex(`04${point(ex.key.x)}${point(ex.key.y)}`);
    const sig = fromBase64(ex.envelope.signatures[0].sig, 'sig');
    expect(p256.verify(sig, pae, publicKey)).toBe(true);
    expect(Buffer.from(p256.sign(pae, hex(point(ex.key.d)))).toString('base64')).toBe(ex.envelope.signatures[0].sig);
  });
});

describe('secure-systems-lab/dsse testvectors/vectors.json (Ed25519)', () => {
  const file = JSON.parse(readFileSync(new URL('vectors.json', vectorsDir), 'utf8'));
  const keys: Record<string, { seed: string; public: string }> = file.keys;
  type Vector = {
    id: string;
    envelope: { payload: string; payloadType: string; signatures: { sig: string; keyid?: string }[] };
    trustedKeys: string[];
    threshold: number;
    supportedPayloadTypes: string[];
    pae: string;
    expect: 'accept' | 'reject';
  };

  // A t-of-n check in the protocol's words, with proofboard's strict encodings. Distinct keys, never distinct keyids.
  function verifyVector(v: Vector): 'accept' | 'reject' {
    const shape = dsseEnvelopeSchema.safeParse(v.envelope);
    if (!shape.success) return 'reject';
    let decoded;
    try {
      decoded = decodeDsse(shape.data);
    } catch {
      return 'reject';
    }
    const accepted = new Set<string>();
    for (const s of decoded.signatures) {
      for (const name of v.trustedKeys) {
        if (verifyDsseSignature(decoded, s.sig, hex(keys[name]!.public), 'strict')) accepted.add(name);
      }
    }
    if (accepted.size < v.threshold) return 'reject';
    return v.supportedPayloadTypes.includes(decoded.payloadType) && decoded.payloadType !== '' ? 'accept' : 'reject';
  }

  it('keys A and B are RFC 8032 TEST 1 and TEST 2', () => {
    for (const k of Object.values(keys)) expect(Buffer.from(ed25519PublicKey(hex(k.seed))).toString('hex')).toBe(k.public);
  });

  for (const v of file.vectors as Vector[]) {
    if (v.id === 'url-safe-base64') {
      it('url-safe-base64: rejected on purpose (one base64 spelling; see test/vectors/dsse/README.md)', () => {
        expect(verifyVector(v)).toBe('reject');
        expect(() => decodeDsse(v.envelope)).toThrow(/payload/);
      });
      continue;
    }
    it(`${v.id}: ${v.expect}`, () => {
      expect(verifyVector(v)).toBe(v.expect);
      if (v.id !== 'payload-type-swapped') {
        const payload = fromBase64(v.envelope.payload, 'payload');
        expect(Buffer.from(preAuthEncoding(v.envelope.payloadType, payload)).toString('hex')).toBe(v.pae);
      }
    });
  }

  it('signing with key A reproduces the single-signature vector', () => {
    const v = (file.vectors as Vector[]).find((x) => x.id === 'single-signature')!;
    const env = signDsse(v.envelope.payloadType, fromBase64(v.envelope.payload, 'payload'), hex(keys.A!.seed), 'A');
    expect(env).toEqual(v.envelope);
  });
});

describe('PAE properties', () => {
  it('is injective on (type, body): different inputs never share a PAE', () => {
    fc.assert(
      fc.property(fc.string(), fc.uint8Array(), fc.string(), fc.uint8Array(), (t1, b1, t2, b2) => {
        fc.pre(t1 !== t2 || Buffer.compare(Buffer.from(b1), Buffer.from(b2)) !== 0);
        expect(Buffer.compare(Buffer.from(preAuthEncoding(t1, b1)), Buffer.from(preAuthEncoding(t2, b2)))).not.toBe(0);
      }),
    );
  });
});
