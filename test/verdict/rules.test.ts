// Properties of the verdict rules (src/verdict/rules.ts) over random sequences of events. The rules are the one place
// where a claim's status changes, for the service and for recheck alike, so their invariants are the project's.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NEW_CLAIM, nextVerdict, type AttestationsOutcome, type ClaimState, type VerdictEvent } from '../../src/verdict/rules.ts';
import { CONTRADICTION_REASONS, VERDICT_REASONS, type ReasonCode } from '../../src/verdict/verdict.ts';

const ZK_REASONS = ['zk_malformed', 'zk_pairing_failed', 'zk_binding_commit', 'zk_signal_range'] as const;
const rule = fc.string({ maxLength: 8 });
const digests = fc.array(fc.string({ minLength: 4, maxLength: 4 }), { maxLength: 3 });
const judged: fc.Arbitrary<AttestationsOutcome> = fc.record({ outcome: fc.constantFrom('verified', 'contradicted', 'insufficient'), rule });

const anyEvent: fc.Arbitrary<VerdictEvent> = fc.oneof(
  fc.record({
    kind: fc.constant('intake' as const),
    zk: fc.array(
      fc.oneof(
        fc.record({ kind: fc.constant('verified' as const), rule }),
        fc.record({ kind: fc.constant('rejected' as const), reasonCode: fc.constantFrom(...ZK_REASONS), rule }),
        fc.constant({ kind: 'uncheckable' as const }),
      ),
      { maxLength: 3 },
    ),
    attestations: fc.option(judged, { nil: null }),
    evidenceDigests: digests,
  }),
  fc.record({ kind: fc.constant('zk_statement_reused' as const), evidenceDigests: digests }),
  fc.record({ kind: fc.constant('attestations_judged' as const), cause: fc.constantFrom('new_attestation' as const, 'trust_changed' as const), judged, evidenceDigests: digests }),
  fc.record({ kind: fc.constant('replay_result' as const), job: fc.constantFrom('replay' as const, 'audit' as const), agrees: fc.boolean(), rule, evidenceDigest: fc.string({ minLength: 4, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('replay_failure' as const), code: fc.constantFrom('bad_bundle' as const, 'training_failed' as const, 'harness_failed' as const), verifier: rule, message: fc.string({ maxLength: 300 }) }),
  fc.record({ kind: fc.constant('replay_abandoned' as const), job: fc.constantFrom('replay' as const, 'audit' as const), attempts: fc.nat(9), reason: rule }),
  fc.record({ kind: fc.constant('replay_signer_compromised' as const), keyId: rule }),
);

/** Applies the events in order; returns every state and every verdict recorded (one log leaf each). */
function run(events: readonly VerdictEvent[], from: ClaimState = NEW_CLAIM) {
  let state = from;
  const leaves: { before: ClaimState; after: ClaimState }[] = [];
  for (const event of events) {
    const decision = nextVerdict(state, event);
    if (!decision) continue;
    const after = { status: decision.verdict.status, method: decision.verdict.method, reasonCode: decision.verdict.reasonCode };
    leaves.push({ before: state, after });
    state = after;
  }
  return { state, leaves };
}

describe('verdict rules on random sequences of events', () => {
  it('give only closed reasons, a method exactly when verified, and a reason exactly when not verified', () => {
    const known = new Set<string>([...VERDICT_REASONS, ...ZK_REASONS]);
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 12 }), (events) => {
        for (const { after } of run(events).leaves) {
          expect(after.method !== null).toBe(after.status === 'verified');
          if (after.status === 'verified') expect(after.reasonCode).toBeNull();
          else expect(known.has(after.reasonCode as string), String(after.reasonCode)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never rejects a verified claim quietly: it can only be disputed, re-opened by withdrawn trust, or re-verified by an audit', () => {
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 12 }), (events) => {
        for (const { before, after } of run(events).leaves) {
          if (before.status !== 'verified') continue;
          if (after.status === 'verified') expect(after.method).toBe(before.method);
          if (after.status === 'pending') expect(['quorum_lost', 'verifier_compromised']).toContain(after.reasonCode);
          // The one rejection of a verified claim: its zk statement was already counted for another claim at intake.
          if (after.status === 'rejected') expect([before.method, after.reasonCode]).toEqual(['zk', 'zk_statement_reused']);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('judges a new claim only once: a second intake changes nothing', () => {
    fc.assert(
      fc.property(anyEvent.filter((e) => e.kind === 'intake'), anyEvent.filter((e) => e.kind === 'intake'), (first, second) => {
        const { state } = run([first]);
        if (state.status !== 'pending' || state.reasonCode !== null) expect(nextVerdict(state, second)).toBeNull();
      }),
    );
  });

  it('puts a claim on the leaderboard exactly when its latest verdict is verified', () => {
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 12 }), (events) => {
        const { state, leaves } = run(events);
        const onBoard = state.status === 'verified';
        expect(onBoard).toBe(leaves.at(-1)?.after.status === 'verified');
      }),
    );
  });
});

// A small model of attestation judging (src/attest/verify-attestations.ts decides the real thing): keys that still
// count, one vote per key, any counted contradiction wins, otherwise agreeing keys against the quorum.
type Attestation = { key: number; agrees: boolean };
function outcomeOf(atts: readonly Attestation[], revoked: ReadonlySet<number>, quorum: number): AttestationsOutcome | null {
  if (atts.length === 0) return null;
  const counted = atts.filter((a) => !revoked.has(a.key));
  if (counted.some((a) => !a.agrees)) return { outcome: 'contradicted', rule: 'a trusted attestation contradicts' };
  const agreeing = new Set(counted.map((a) => a.key)).size;
  return { outcome: agreeing >= quorum ? 'verified' : 'insufficient', rule: `quorum ${agreeing}/${quorum}` };
}

/** Where a claim stands for its readers: ranked, knocked off by a contradiction, or waiting (for a replay). */
function standing(state: ClaimState): 'ranked' | 'contradicted' | 'open' {
  if (state.status === 'verified') return 'ranked';
  if (state.status === 'pending') return 'open';
  expect(CONTRADICTION_REASONS).toContain(state.reasonCode as ReasonCode);
  return 'contradicted';
}

describe('changes of trust', () => {
  const attestation = fc.record({ key: fc.nat(4), agrees: fc.boolean() });
  const step = fc.oneof(fc.record({ add: attestation }), fc.record({ revoke: fc.nat(4) }));

  it('revoking keys and judging again reaches the standing of never having counted them (late attestations included)', () => {
    fc.assert(
      fc.property(fc.array(attestation, { maxLength: 4 }), fc.array(step, { maxLength: 8 }), fc.integer({ min: 1, max: 3 }), (initial, steps, quorum) => {
        const atts = [...initial];
        const revoked = new Set<number>();
        const events: VerdictEvent[] = [{ kind: 'intake', zk: [], attestations: outcomeOf(atts, revoked, quorum), evidenceDigests: [] }];
        for (const s of steps) {
          if ('add' in s) {
            // A revoked key's new attestation is refused at the door, as the service does.
            if (revoked.has(s.add.key)) continue;
            atts.push(s.add);
            events.push({ kind: 'attestations_judged', cause: 'new_attestation', judged: outcomeOf(atts, revoked, quorum)!, evidenceDigests: [] });
          } else {
            if (revoked.has(s.revoke) || atts.length === 0) continue;
            revoked.add(s.revoke);
            events.push({ kind: 'attestations_judged', cause: 'trust_changed', judged: outcomeOf(atts, revoked, quorum)!, evidenceDigests: [] });
          }
        }
        const lived = run(events).state;
        // The same claim judged once, fresh, with only what still counts.
        const counted = atts.filter((a) => !revoked.has(a.key));
        const fresh = run([{ kind: 'intake', zk: [], attestations: outcomeOf(counted, new Set(), quorum), evidenceDigests: [] }]).state;
        expect(standing(lived)).toBe(standing(fresh));
      }),
      { numRuns: 3000 },
    );
  });

  it('lets no late attestation overturn a contradiction by a key that still counts (a replay\'s included)', () => {
    fc.assert(
      fc.property(fc.constantFrom('replay' as const, 'audit' as const), judged, (job, late) => {
        const start = job === 'replay' ? NEW_CLAIM : run([{ kind: 'intake', zk: [{ kind: 'verified', rule: 'proof' }], attestations: null, evidenceDigests: [] }]).state;
        const contradicted = run([{ kind: 'replay_result', job, agrees: false, rule: 'measured less', evidenceDigest: 'd' }], start).state;
        expect(standing(contradicted)).toBe('contradicted');
        const after = run([{ kind: 'attestations_judged', cause: 'new_attestation', judged: late, evidenceDigests: [] }], contradicted).state;
        expect(standing(after)).toBe('contradicted');
      }),
    );
  });

  it('withdraws a replay\'s or an audit\'s contradiction only with its own signer, never on another key\'s change', () => {
    fc.assert(
      fc.property(fc.constantFrom('replay' as const, 'audit' as const), judged, (job, rejudged) => {
        const start = job === 'replay' ? NEW_CLAIM : run([{ kind: 'intake', zk: [{ kind: 'verified', rule: 'proof' }], attestations: null, evidenceDigests: [] }]).state;
        const contradicted = run([{ kind: 'replay_result', job, agrees: false, rule: 'measured less', evidenceDigest: 'd' }], start).state;
        expect(nextVerdict(contradicted, { kind: 'attestations_judged', cause: 'trust_changed', judged: rejudged, evidenceDigests: [] })).toBeNull();
        const reopened = nextVerdict(contradicted, { kind: 'contradiction_signer_compromised', keyId: 'k' });
        expect(reopened?.verdict).toMatchObject({ status: 'pending', reasonCode: 'contradiction_withdrawn' });
        expect(reopened?.then).toEqual(['queue_replay']);
      }),
    );
  });
});
