// Ed25519 in src/attest/ed25519.ts against @noble/curves, the baseline it replaced on the intake path: strict
// verification of an honest signature (every claim, note and checkpoint), of a bad one (ours falls back to noble
// after OpenSSL rejects), and signing. Keys rotate over a small set, as submitters' keys do, so the per-key caches
// are hit. Baseline and ours alternate within each round; each figure is the median over the rounds.
// Ends with one line of JSON.
//
//   npx tsx bench/ed25519.ts
import { randomBytes } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { signEd25519, verifyEd25519 } from '../src/attest/ed25519.ts';

const KEYS = 16;
const ROUNDS = 5;
const ROUND_MS = 400;

const keys = Array.from({ length: KEYS }, () => {
  const secretKey = ed25519.utils.randomSecretKey();
  const message = randomBytes(200);
  const signature = ed25519.sign(message, secretKey);
  const tampered = Uint8Array.from(message);
  tampered[0]! ^= 1;
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey), message, signature, tampered };
});

// Operations per second of f over keys in rotation, for about ROUND_MS.
function opsPerSecond(f: (k: (typeof keys)[number]) => unknown): number {
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ROUND_MS) {
    for (const k of keys) f(k);
    ops += keys.length;
    now = performance.now();
  }
  return ops / ((now - start) / 1000);
}

const cases = {
  'verify, honest signature': {
    baseline: (k: (typeof keys)[number]) => ed25519.verify(k.signature, k.message, k.publicKey, { zip215: false }),
    ours: (k: (typeof keys)[number]) => verifyEd25519(k.signature, k.message, k.publicKey, 'strict'),
  },
  'verify, tampered message': {
    baseline: (k: (typeof keys)[number]) => ed25519.verify(k.signature, k.tampered, k.publicKey, { zip215: false }),
    ours: (k: (typeof keys)[number]) => verifyEd25519(k.signature, k.tampered, k.publicKey, 'strict'),
  },
  sign: {
    baseline: (k: (typeof keys)[number]) => ed25519.sign(k.message, k.secretKey),
    ours: (k: (typeof keys)[number]) => signEd25519(k.message, k.secretKey),
  },
};

// The answers must agree before their speed means anything.
for (const k of keys) {
  if (!verifyEd25519(k.signature, k.message, k.publicKey, 'strict')) throw new Error('ours rejects an honest signature');
  if (verifyEd25519(k.signature, k.tampered, k.publicKey, 'strict')) throw new Error('ours accepts a tampered message');
  if (Buffer.compare(signEd25519(k.message, k.secretKey), k.signature) !== 0) throw new Error('ours signs differently from noble');
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rows = Object.entries(cases).map(([name, c]) => {
  const baseline: number[] = [];
  const ours: number[] = [];
  opsPerSecond(c.baseline);
  opsPerSecond(c.ours);
  for (let r = 0; r < ROUNDS; r++) {
    baseline.push(opsPerSecond(c.baseline));
    ours.push(opsPerSecond(c.ours));
  }
  return { name, baseline: median(baseline), ours: median(ours) };
});

console.log(`${'operation'.padEnd(26)} ${'noble ops/s'.padStart(12)} ${'ours ops/s'.padStart(12)} ${'ratio'.padStart(7)}`);
for (const r of rows) {
  console.log(`${r.name.padEnd(26)} ${Math.round(r.baseline).toString().padStart(12)} ${Math.round(r.ours).toString().padStart(12)} ${(r.ours / r.baseline).toFixed(2).padStart(7)}`);
}
const [verify, tampered, sign] = rows as [(typeof rows)[number], (typeof rows)[number], (typeof rows)[number]];
console.log(
  JSON.stringify({
    baseline: '@noble/curves ed25519 zip215:false',
    verify_noble_ops_s: Math.round(verify.baseline),
    verify_ops_s: Math.round(verify.ours),
    verify_ratio: Number((verify.ours / verify.baseline).toFixed(2)),
    verify_tampered_noble_ops_s: Math.round(tampered.baseline),
    verify_tampered_ops_s: Math.round(tampered.ours),
    verify_tampered_ratio: Number((tampered.ours / tampered.baseline).toFixed(2)),
    sign_noble_ops_s: Math.round(sign.baseline),
    sign_ops_s: Math.round(sign.ours),
    sign_ratio: Number((sign.ours / sign.baseline).toFixed(2)),
  }),
);
