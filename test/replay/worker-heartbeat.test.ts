// The worker heartbeats at a third of the lease the server granted, so a short PROOFBOARD_LEASE_MS is honoured
// without configuring the worker, and a skewed clock can only make heartbeats more frequent.
import { expect, it } from 'vitest';
import { heartbeatInterval } from '../../src/replay/worker.ts';

const now = Date.parse('2026-11-27T09:00:00.000Z');
const expiresIn = (ms: number) => new Date(now + ms).toISOString();

it('heartbeats at a third of the granted lease', () => {
  expect(heartbeatInterval(expiresIn(4_000), now)).toBe(1_333);
  expect(heartbeatInterval(expiresIn(30_000), now)).toBe(10_000);
});

it('never waits longer than 15 s, nor less than 1 s', () => {
  expect(heartbeatInterval(expiresIn(3_600_000), now)).toBe(15_000);
  expect(heartbeatInterval(expiresIn(-5_000), now)).toBe(1_000);
});

it('falls back to 15 s when the server sent no usable expiry', () => {
  expect(heartbeatInterval(undefined, now)).toBe(15_000);
  expect(heartbeatInterval('not a date', now)).toBe(15_000);
});
