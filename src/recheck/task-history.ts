// A task's policy over time, as this machine saw it. Tasks are registered once and never edited (src/service/actions/tasks.ts),
// yet the policy a bundle carries is the server's word: a quorum lowered or a tolerance widened in the database would
// make every verdict judged against it look sound. The only memory a third party has is what it saw before.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../verdict/evidence-digest.ts';
import { fail, pass, skip, type Check } from './report.ts';
import type { TaskSnapshot } from './state-file.ts';

export function policyDigest(policy: unknown): string {
  return createHash('sha256').update(canonicalJson(policy)).digest('hex');
}

export function snapshotTask(policy: unknown, seenAt: string): TaskSnapshot[string] {
  return { policySha256: policyDigest(policy), policy, seenAt };
}

export function checkTaskPolicy(taskId: string, policy: unknown, before: TaskSnapshot[string] | undefined): Check {
  const id = 'task.policy';
  if (!before) return skip(id, `first visit of task ${taskId}: its policy is remembered for next time`);
  const digest = policyDigest(policy);
  if (digest === before.policySha256) return pass(id, `task ${taskId}'s policy is the one seen at our visit of ${before.seenAt}`);
  return fail(id, `task ${taskId}'s policy changed since our visit of ${before.seenAt} (tasks are never edited): ${nameChanges(before.policy, policy)}`);
}

function nameChanges(old: unknown, now: unknown): string {
  const a = (old && typeof old === 'object' ? old : {}) as Record<string, unknown>;
  const b = (now && typeof now === 'object' ? now : {}) as Record<string, unknown>;
  const changes = [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((f) => canonicalJson(a[f]) !== canonicalJson(b[f]))
    .map((f) => `${f} ${canonicalJson(a[f]) ?? 'absent'} became ${canonicalJson(b[f]) ?? 'absent'}`);
  return changes.length ? changes.join(', ') : `its digest became sha256:${policyDigest(now).slice(0, 16)}…`;
}
