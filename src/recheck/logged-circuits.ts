// Circuits an operator registered through the API (POST /v1/tasks/{id}/circuits), pinned by the log rather than by
// this repository. Their registration is a log leaf (src/zk/circuit-build.ts circuitLeafText) holding the key's
// SHA-256, the eval-set layout and the prover's files; the bundle carries that leaf with its inclusion proof. A key the
// server serves counts as pinned only when it hashes to the logged pin, and proofs are checked against the logged
// layout, so a server that swapped the key or the layout after registration is caught, on a first visit too. A circuit
// this repository pins itself keeps the repository's pin: the log cannot override it.
import { createHash } from 'node:crypto';
import type { Checkpoint } from '../log/index.ts';
import { leafInclusionProblem } from './leaf-inclusion.ts';
import { circuitLeafText, circuitRegistrationSchema } from '../zk/circuit-build.ts';
import type { ClaimBundle } from './bundle.ts';
import type { PinnedCircuit } from './pins.ts';

export type CircuitPins = {
  /** The repository's pins, and each logged circuit whose leaf checked out. */
  pins: Map<string, PinnedCircuit>;
  /** The circuits pinned by their log leaf, by id with the entry. */
  logged: string[];
  /** Why a logged registration could not be used: each names the circuit and its entry. */
  problems: string[];
};

/**
 * `used`: the circuits the claim's proofs name. A used circuit must have been registered before the claim's first
 * verdict: a key logged after the fact (one built to accept a given proof, say) pins nothing for it. A circuit
 * registered after the bundle's checkpoint is not pinned (an unused one is only reported).
 */
export function withLoggedCircuits(repository: ReadonlyMap<string, PinnedCircuit>, bundle: ClaimBundle, checkpoint: Checkpoint, used: ReadonlySet<string>): CircuitPins {
  const pins = new Map(repository);
  const logged: string[] = [];
  const problems: string[] = [];
  const verdictEntries = bundle.claim.history.map((v) => v.logIndex).filter((i): i is number => i !== null);
  const firstVerdict = verdictEntries.length ? Math.min(...verdictEntries) : Number.POSITIVE_INFINITY;
  for (const c of bundle.task.circuits) {
    const index = (c as { logIndex?: unknown }).logIndex;
    if (repository.has(c.id) || typeof index !== 'number' || index >= checkpoint.size) continue;
    if (index > firstVerdict) {
      if (used.has(c.id)) problems.push(`circuit ${c.id} (log entry ${index}): registered after the claim's first verdict (entry ${firstVerdict}), so it cannot be what its proofs were checked with`);
      continue;
    }
    const checked = loggedRegistration(bundle, c, index, checkpoint);
    if (!checked.ok) {
      problems.push(`circuit ${c.id} (log entry ${index}): ${checked.problem}`);
      continue;
    }
    const { params } = checked;
    pins.set(c.id, {
      vkeySha256: c.vkeySha256,
      // The pairing library loads only when a proof of this circuit is met, as for the repository's pins.
      load: async () => {
        const { registerCircuit } = await import('../zk/circuit-registration.ts');
        return { circuit: registerCircuit(c.id, c.vkey, c.vkeySha256), evalSetCommitment: params.evalSetCommitment, shardCommitments: params.shardCommitments };
      },
    });
    logged.push(`${c.id} (entry ${index})`);
  }
  return { pins, logged, problems };
}

type BundleCircuit = ClaimBundle['task']['circuits'][number];

type Checked = { ok: true; params: { evalSetCommitment: string; shardCommitments: string[] } } | { ok: false; problem: string };

function loggedRegistration(bundle: ClaimBundle, c: BundleCircuit, index: number, checkpoint: Checkpoint): Checked {
  const problem = (text: string): Checked => ({ ok: false, problem: text });
  const leaf = bundle.log.leaves.find((l) => l.index === index);
  if (!leaf) return problem('the bundle does not carry its registration leaf');
  const notIncluded = leafInclusionProblem(leaf, checkpoint);
  if (notIncluded) return problem(notIncluded);
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(leaf.data) as Record<string, unknown>;
  } catch {
    return problem('its leaf is not JSON');
  }
  if (entry.kind !== 'circuit-registration' || entry.task !== bundle.task.id || entry.circuit !== c.id) {
    return problem(`its leaf is not the registration of circuit ${c.id} for task ${bundle.task.id}`);
  }
  if (createHash('sha256').update(c.vkey).digest('hex') !== entry.vkeySha256) return problem('the served verification key does not hash to the logged pin (key swapped)');
  // The served circuit, with the logged registration time, must re-encode to the leaf byte for byte: the key's hash,
  // the layout and the prover's files are then exactly what was logged.
  const served = circuitRegistrationSchema.safeParse({ id: c.id, protocol: c.protocol, vkey: c.vkey, vkeySha256: c.vkeySha256, params: (c as { params?: unknown }).params, build: entry.build });
  if (!served.success) return problem(`the served circuit is malformed (${served.error.issues[0]?.message ?? 'invalid'})`);
  const { vkey: _vkey, ...pins } = served.data;
  if (circuitLeafText(bundle.task.id, pins, String(entry.registeredAt)) !== leaf.data) {
    return problem('the served circuit differs from its logged registration (protocol, pin or eval-set layout changed)');
  }
  // The proofs must be about the task's evaluation set, not one the circuit's registrant chose.
  const taskCommitment = bundle.task.evalSetCommitment;
  if (taskCommitment && served.data.params.evalSetCommitment !== taskCommitment) {
    return problem(`its eval-set commitment is not the task's (${taskCommitment.slice(0, 16)}…)`);
  }
  return { ok: true, params: served.data.params };
}
