// Proof-of-work stamps: what a sender pays to mine one at the example task's default difficulty, and what the
// service pays to check one, against the baseline every claim already costs the service: verifying the
// submitter's Ed25519 signature. Ends with one line of JSON.
import { randomBytes } from 'node:crypto';
import { signClaim, verifyClaimEnvelope } from '../src/attest/claim.ts';
import { toHex } from '../src/attest/bytes.ts';
import { generateEd25519Key } from '../src/attest/ed25519.ts';
import { mineStamp, stampBits } from '../src/attest/stamp.ts';
import { exampleTask } from '../src/service/example-task.ts';

const bits = exampleTask.stampBaseBits;
const MINES = 12;
const CHECKS = 20_000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const mineMs: number[] = [];
const attempts: number[] = [];
for (let i = 0; i < MINES; i++) {
  const id = toHex(randomBytes(32));
  const t = performance.now();
  const r = mineStamp(id, bits);
  mineMs.push(performance.now() - t);
  attempts.push(r.attempts);
}
const hashesPerS = attempts.reduce((s, a) => s + a, 0) / (mineMs.reduce((s, m) => s + m, 0) / 1000);

const id = toHex(randomBytes(32));
let t = performance.now();
for (let i = 0; i < CHECKS; i++) stampBits(id, { nonce: i.toString(16) });
const checkUs = ((performance.now() - t) / CHECKS) * 1000;

const key = generateEd25519Key();
const envelope = signClaim(
  { v: 1, task: 'digits-mlp', commit: 'a'.repeat(40), parent: null, beatsParent: false, metric: { name: 'correct', value: 50 }, submitter: toHex(key.publicKey), createdAt: new Date().toISOString(), bundle: `sha256:${'b'.repeat(64)}` },
  key.secretKey,
);
const VERIFIES = 500;
t = performance.now();
for (let i = 0; i < VERIFIES; i++) verifyClaimEnvelope(envelope);
const verifyUs = ((performance.now() - t) / VERIFIES) * 1000;

console.log(`mining at ${bits} bits (expected 2^${bits} = ${2 ** bits} hashes): median ${median(mineMs).toFixed(0)} ms, mean ${(mineMs.reduce((s, m) => s + m, 0) / MINES).toFixed(0)} ms over ${MINES} claims, ${Math.round(hashesPerS)} hashes/s`);
console.log(`checking a stamp: ${checkUs.toFixed(2)} us; baseline, verifying the claim's signature: ${verifyUs.toFixed(0)} us; ratio ${(checkUs / verifyUs).toFixed(4)}`);
console.log(JSON.stringify({ bits, mine_median_ms: Math.round(median(mineMs)), hashes_per_s: Math.round(hashesPerS), check_us: Number(checkUs.toFixed(2)), claim_verify_us: Math.round(verifyUs), check_to_verify_ratio: Number((checkUs / verifyUs).toFixed(4)) }));
