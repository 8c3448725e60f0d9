// The task a claim was judged against, proved from the log rather than taken from the server. A task is registered
// once, and its definition (metric, direction, policy, replay, pack with every pin) is a leaf of the transparency log
// written in the same transaction (src/service/actions/tasks.ts). The bundle carries that leaf with its inclusion proof;
// this check holds the task the bundle shows, which the attestations and the verdict rule are judged with, to it. A
// server that widened a tolerance, lowered a quorum or swapped a pack's pins afterwards is caught on the first visit,
// without any memory of an earlier one (task-history.ts only compares with what this machine saw before).
import { taskDefinitionDigestOf, taskDefinitionLeafText, type TaskDefinitionRecord } from '../attest/task-pack.ts';
import type { Checkpoint } from '../log/index.ts';
import { leafInclusionProblem } from './leaf-inclusion.ts';
import { canonicalJson } from '../verdict/evidence-digest.ts';
import type { ClaimBundle } from './bundle.ts';
import { fail, pass, warn, type Check } from './report.ts';

const ID = 'task.definition';

/** The fields of the bundle's task that verdicts depend on, each compared with the logged definition. */
const JUDGED_FIELDS = ['metricName', 'direction', 'policy', 'replay', 'pack', 'evalSetCommitment'] as const;

/**
 * `named`: the definition entries the claim's verdict leaves name (each verdict records what it was judged against).
 * `allowUnlogged`: the reader accepts a task with no logged definition (one registered by a build older than logged
 * definitions) with a warning; by default it fails, since a server could otherwise drop a definition to escape this.
 */
export function checkTaskDefinition(bundle: ClaimBundle, checkpoint: Checkpoint, named: ReadonlySet<number>, allowUnlogged = false): Check {
  const task = bundle.task;
  const index = task.definitionLogIndex;
  if (index === undefined || index === null) {
    if (named.size > 0) return fail(ID, `the verdicts were judged against the definition at log entry ${[...named].join(', ')}, but the bundle does not name task ${task.id}'s definition`);
    const what = `task ${task.id} has no logged definition (registered before definitions were logged, or hidden by the server): its policy and pins are the server's word`;
    return allowUnlogged ? warn(ID, what) : fail(ID, `${what}; pass --allow-unlogged-tasks to accept that`);
  }
  const other = [...named].filter((n) => n !== index);
  if (other.length > 0) return fail(ID, `the verdicts name the definition at log entry ${other.join(', ')}, not the task's entry ${index}`);
  const leaf = bundle.log.leaves.find((l) => l.index === index);
  if (!leaf) return fail(ID, `task ${task.id}'s definition is at log entry ${index}, but the bundle does not carry that leaf`);
  const notIncluded = leafInclusionProblem(leaf, checkpoint);
  if (notIncluded) return fail(ID, `log entry ${index}: ${notIncluded}`);

  const logged = parseDefinitionLeaf(leaf.data);
  if (!logged.ok) return fail(ID, `log entry ${index} is not a task definition: ${logged.reason}`);
  const { definition } = logged;
  if (definition.id !== task.id) return fail(ID, `log entry ${index} defines task ${definition.id}, not ${task.id}`);

  const shown = task as unknown as Record<string, unknown>;
  const changed = JUDGED_FIELDS.filter((f) => canonicalJson(shown[f] ?? null) !== canonicalJson(definition[f] ?? null));
  if (changed.length > 0) {
    return fail(ID, `task ${task.id} differs from its logged definition (entry ${index}) in ${changed.join(', ')}: the verdicts would be judged against another task`);
  }
  const later = bundle.claim.history.filter((v) => v.logIndex !== null && v.logIndex < index);
  if (later.length > 0) return fail(ID, `a verdict is logged before task ${task.id} was defined (entry ${index})`);
  return pass(ID, `task ${task.id} is the one defined at log entry ${index} (sha256:${taskDefinitionDigestOf(definition).slice(0, 16)}…)`);
}

type ParsedLeaf = { ok: true; definition: TaskDefinitionRecord } | { ok: false; reason: string };

/** A definition leaf is canonical JSON made by taskDefinitionLeafText: rebuilt from its own fields, it must be byte-equal. */
function parseDefinitionLeaf(data: string): ParsedLeaf {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(data) as Record<string, unknown>;
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (!value || typeof value !== 'object' || value.kind !== 'task-definition') return { ok: false, reason: 'its kind is not task-definition' };
  const definition = value.definition as TaskDefinitionRecord | undefined;
  if (!definition || typeof definition !== 'object' || typeof value.registeredAt !== 'string') return { ok: false, reason: 'no definition' };
  let rebuilt: string;
  try {
    rebuilt = taskDefinitionLeafText(definition, value.registeredAt);
  } catch {
    return { ok: false, reason: 'its definition cannot be re-encoded' };
  }
  if (rebuilt !== data) return { ok: false, reason: 'its digest or encoding does not match its definition' };
  return { ok: true, definition };
}
