// proofboard admin: the service operator's actions over HTTP (tasks, verifier trust, revocation, parked replay jobs). Every one of them
// is an operator endpoint: the server checks the token and writes the audit row in the same transaction.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { verifierKeyId } from '../attest/registry.ts';
import { toInertText } from '../attest/inert-text.ts';
import { apiRequest } from './http-client.ts';
import { taskPackAdd } from './task-pack-command.ts';
import { dataDirFromEnv, serverUrlFromEnv } from '../config.ts';

export const USAGE = `usage: proofboard admin <action> [--server URL] [--token-file FILE] [--json]

  task add DIR|FILE                          register a task pack folder (task.json, harness/, eval/, data/:
                                             docs/define-a-task.md) or a task from a JSON file (POST /v1/tasks)
  verifier add --name N --operator ID --public-key HEX --tasks a,b [--valid-from T] [--valid-until T]
                                             trust a verifier key for these tasks; ID names who runs it
                                             (a-z, 0-9, -): all keys of one operator count once in a quorum
  verifier update ID [--name N] [--tasks a,b] [--valid-until T|none]
                                             change a key's name, tasks or end of validity
  verifier revoke ID --reason compromised|retired [--at T]
                                             revoke a key; compromised re-judges everything it signed
  verifier list                              the trust registry, revoked keys included
  jobs list [--state failed|queued|leased|done|closed|all] [--limit N]
                                             replay jobs; by default the parked ones (state failed)
  jobs requeue JOB                           queue a parked or queued job again, attempts reset to 0
  jobs close JOB --reason TEXT               give up on a parked job: a pending claim is rejected
                                             (replay_abandoned, with your reason)
  task list                                  the registered tasks, how each can settle a claim, and a warning
                                             for a task whose claims can never settle
  audit [--action A] [--target T] [--limit N] [--before ID]
                                             the audit trail, newest first; A is an action (verifier_key.revoke)
                                             or a family (verifier_key), T what was acted on (task:ID)

  ID is the key id (32 hex) or its public key (64 hex). T is a time, e.g. 2026-12-01T00:00:00Z.
  The operator token comes from --token-file, else PROOFBOARD_OPERATOR_TOKEN, else
  $PROOFBOARD_DATA/secrets/operator-token (the file 'proofboard serve' creates).`;

type KeyJson = {
  id: string;
  name: string;
  operator: string;
  publicKey: string;
  tasks: string[];
  validFrom: string;
  validUntil: string | null;
  revokedAt: string | null;
  revocationReason: string | null;
  reputation?: number;
};

type Common = { server: string; json: boolean; token: () => string };

const commonOptions = {
  server: { type: 'string', default: serverUrlFromEnv() },
  'token-file': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function adminCommand(argv: string[]): Promise<number> {
  const [group, action, ...rest] = argv;
  if (!group || group === '--help' || group === '-h' || group === 'help') {
    console.log(USAGE);
    return group ? 0 : 2;
  }
  if (group === 'audit') return auditList(argv.slice(1));
  const handler = ACTIONS[`${group} ${action ?? ''}`];
  if (!handler) {
    console.error(`proofboard admin: unknown action ${JSON.stringify([group, action].filter(Boolean).join(' '))}\n\n${USAGE}`);
    return 2;
  }
  return handler(rest);
}

const ACTIONS: Record<string, (argv: string[]) => Promise<number>> = {
  'task add': taskAdd,
  'verifier add': verifierAdd,
  'verifier update': verifierUpdate,
  'verifier revoke': verifierRevoke,
  'verifier list': verifierList,
  'jobs list': jobsList,
  'jobs requeue': jobsRequeue,
  'jobs close': jobsClose,
  'task list': taskList,
};

async function taskAdd(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: commonOptions });
  if (values.help || positionals.length !== 1) return usage(values.help);
  const common = toCommon(values);
  const path = positionals[0]!;
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) return taskPackAdd(path, { server: common.server, json: common.json, headers: () => auth(common) });
  let task: unknown;
  try {
    task = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not a JSON file (${e instanceof Error ? e.message : String(e)})`);
  }
  const res = await apiRequest<{ id: string; policy: unknown }>(common.server, 'POST', '/v1/tasks', task, auth(common));
  if (common.json) console.log(JSON.stringify(res.body));
  else console.log(`task ${res.body.id} registered`);
  for (const r of await settlement(common.server, [res.body.id])) if (!r.settles) console.error(neverSettles(r.id));
  return 0;
}

async function verifierAdd(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...commonOptions,
      name: { type: 'string' },
      operator: { type: 'string' },
      'public-key': { type: 'string' },
      tasks: { type: 'string' },
      'valid-from': { type: 'string' },
      'valid-until': { type: 'string' },
    },
  });
  if (values.help || positionals.length > 0 || !values.name || !values.operator || !values['public-key'] || !values.tasks) return usage(values.help);
  const common = toCommon(values);
  const body = {
    name: values.name,
    operator: values.operator,
    publicKey: values['public-key'].toLowerCase(),
    tasks: toTaskList(values.tasks),
    ...(values['valid-from'] ? { validFrom: toIsoTime(values['valid-from'], '--valid-from') } : {}),
    ...(values['valid-until'] ? { validUntil: toIsoTime(values['valid-until'], '--valid-until') } : {}),
  };
  const res = await apiRequest<KeyJson>(common.server, 'POST', '/v1/verifier-keys', body, auth(common));
  if (common.json) console.log(JSON.stringify(res.body));
  else {
    console.log(`verifier key ${res.body.id} trusted for ${res.body.tasks.join(', ')}`);
    console.log(describeKey(res.body));
  }
  return 0;
}

async function verifierUpdate(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...commonOptions, name: { type: 'string' }, tasks: { type: 'string' }, 'valid-until': { type: 'string' } },
  });
  if (values.help || positionals.length !== 1) return usage(values.help);
  const common = toCommon(values);
  const until = values['valid-until'];
  const body = {
    ...(values.name ? { name: values.name } : {}),
    ...(values.tasks ? { tasks: toTaskList(values.tasks) } : {}),
    ...(until === undefined ? {} : { validUntil: until === 'none' ? null : toIsoTime(until, '--valid-until') }),
  };
  if (Object.keys(body).length === 0) throw new Error('nothing to change: give --name, --tasks or --valid-until');
  const res = await apiRequest<KeyJson>(common.server, 'PATCH', `/v1/verifier-keys/${toKeyId(positionals[0]!)}`, body, auth(common));
  if (common.json) console.log(JSON.stringify(res.body));
  else console.log(describeKey(res.body));
  return 0;
}

async function verifierRevoke(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...commonOptions, reason: { type: 'string' }, at: { type: 'string' } },
  });
  if (values.help || positionals.length !== 1 || !values.reason) return usage(values.help);
  if (values.reason !== 'compromised' && values.reason !== 'retired') {
    throw new Error(`--reason must be compromised or retired, got ${JSON.stringify(values.reason)}`);
  }
  const common = toCommon(values);
  const body = { reason: values.reason, ...(values.at ? { at: toIsoTime(values.at, '--at') } : {}) };
  const res = await apiRequest<KeyJson>(common.server, 'POST', `/v1/verifier-keys/${toKeyId(positionals[0]!)}/revoke`, body, auth(common));
  if (common.json) console.log(JSON.stringify(res.body));
  else {
    console.log(`verifier key ${res.body.id} revoked as ${res.body.revocationReason} at ${res.body.revokedAt}`);
    if (res.body.revocationReason === 'compromised') {
      console.log('everything it signed has been judged again without it (see each claim\'s history)');
    }
  }
  return 0;
}

async function verifierList(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: commonOptions });
  if (values.help || positionals.length > 0) return usage(values.help);
  const server = values.server;
  // The registry is public (third parties re-check attestations against it): no token needed to read it.
  const res = await apiRequest<{ keys: KeyJson[] }>(server, 'GET', '/v1/verifier-keys');
  if (values.json) console.log(JSON.stringify(res.body));
  else if (res.body.keys.length === 0) console.log('no verifier keys');
  else for (const k of res.body.keys) console.log(describeKey(k));
  return 0;
}

type JobJson = {
  id: number;
  kind: string;
  claimId: string;
  task?: string;
  claimStatus?: string;
  state: string;
  attempts: number;
  lastError: string | null;
  leaseExpiresAt: string | null;
  updatedAt: string;
};

const JOB_STATES = ['failed', 'queued', 'leased', 'done', 'closed', 'all'];

async function jobsList(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...commonOptions, state: { type: 'string', default: 'failed' }, limit: { type: 'string' } },
  });
  if (values.help || positionals.length > 0) return usage(values.help);
  if (!JOB_STATES.includes(values.state)) throw new Error(`--state must be one of ${JOB_STATES.join(', ')}, got ${JSON.stringify(values.state)}`);
  const common = toCommon(values);
  const query = new URLSearchParams({ state: values.state, ...(values.limit ? { limit: values.limit } : {}) });
  const res = await apiRequest<{ jobs: JobJson[]; truncated: boolean }>(common.server, 'GET', `/v1/admin/replay-jobs?${query}`, undefined, auth(common));
  // A job's error text is a hostile job's stderr, relayed: JSON.stringify escapes C0 controls but leaves C1 ones
  // (U+009B starts a terminal control sequence) and bidi overrides raw, so the JSON is made inert too (still the same JSON).
  if (common.json) console.log(toInertText(JSON.stringify(res.body.jobs)));
  else if (res.body.jobs.length === 0) console.log(`no replay jobs in state ${values.state}`);
  else {
    for (const job of res.body.jobs) console.log(describeJob(job));
    if (res.body.truncated) console.log(`(more jobs than ${res.body.jobs.length}: use --limit)`);
  }
  return 0;
}

async function jobsRequeue(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: commonOptions });
  if (values.help || positionals.length !== 1) return usage(values.help);
  const common = toCommon(values);
  const res = await apiRequest<{ job: JobJson }>(common.server, 'POST', `/v1/admin/replay-jobs/${toJobId(positionals[0]!)}/requeue`, undefined, auth(common));
  if (common.json) console.log(toInertText(JSON.stringify(res.body)));
  else console.log(`replay job ${res.body.job.id} queued again (attempts reset to ${res.body.job.attempts})`);
  return 0;
}

async function jobsClose(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...commonOptions, reason: { type: 'string' } } });
  if (values.help || positionals.length !== 1 || values.reason === undefined) return usage(values.help);
  const common = toCommon(values);
  const res = await apiRequest<{ job: JobJson; verdict: { status: string; reasonCode: string; logIndex: number } | null }>(
    common.server,
    'POST',
    `/v1/admin/replay-jobs/${toJobId(positionals[0]!)}/close`,
    { reason: values.reason },
    auth(common),
  );
  if (common.json) console.log(toInertText(JSON.stringify(res.body)));
  else {
    const { job, verdict } = res.body;
    console.log(`replay job ${job.id} closed`);
    console.log(
      verdict
        ? `claim ${job.claimId} ${verdict.status} (${verdict.reasonCode}), log entry ${verdict.logIndex}`
        : `claim ${job.claimId} left as it was (not pending, or an audit job)`,
    );
  }
  return 0;
}

function describeJob(j: JobJson): string {
  const lease = j.state === 'leased' && j.leaseExpiresAt ? `  lease until ${j.leaseExpiresAt}` : '';
  // The server stores error texts inert; escaped again here so that no server, however old or hostile, can reach the
  // operator's terminal through them (toInertText leaves an already inert text as it is).
  const error = j.lastError === null ? '-' : toInertText(j.lastError);
  return `${j.id}  ${j.kind}  ${j.claimId}  ${j.task ?? '-'}  ${j.state}  attempts=${j.attempts}  updated ${j.updatedAt}${lease}  last error: ${error}`;
}

function describeKey(k: KeyJson): string {
  const state = k.revokedAt ? `revoked (${k.revocationReason}) at ${k.revokedAt}` : 'active';
  const until = k.validUntil ? ` until ${k.validUntil}` : '';
  return `${k.id}  ${k.name}  operator=${k.operator}  ${k.publicKey}  tasks=${k.tasks.join(',')}  from ${k.validFrom}${until}  ${state}`;
}

function usage(help: boolean | undefined): number {
  if (help) {
    console.log(USAGE);
    return 0;
  }
  console.error(USAGE);
  return 2;
}

function toCommon(values: { server: string; 'token-file'?: string | undefined; json: boolean }): Common {
  return { server: values.server, json: values.json, token: () => readOperatorToken(values['token-file']) };
}

function auth(common: Common): Record<string, string> {
  return { authorization: `Bearer ${common.token()}` };
}

/**
 * The operator token: --token-file, else PROOFBOARD_OPERATOR_TOKEN, else the file `serve` generated in the data
 * folder. A token file readable by others hands operator rights to every local user, so it is refused, as key files are.
 */
export function readOperatorToken(tokenFile: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (!tokenFile && env.PROOFBOARD_OPERATOR_TOKEN) return env.PROOFBOARD_OPERATOR_TOKEN;
  const path = tokenFile ?? join(dataDirFromEnv(env), 'secrets', 'operator-token');
  if (!existsSync(path)) {
    throw new Error(`no operator token: set PROOFBOARD_OPERATOR_TOKEN or pass --token-file (${path} does not exist)`);
  }
  if (statSync(path).mode & 0o077) throw new Error(`${path}: token file must not be readable by group or others (chmod 600)`);
  const token = readFileSync(path, 'utf8').trim();
  if (!token) throw new Error(`${path}: the token file is empty`);
  return token;
}

function toTaskList(list: string): string[] {
  const tasks = list.split(',').map((t) => t.trim()).filter((t) => t.length > 0);
  if (tasks.length === 0) throw new Error('--tasks: name at least one task');
  return tasks;
}

/** Accepts anything Date understands and sends the server the one format it takes (UTC, ISO 8601 with Z). */
function toIsoTime(value: string, flag: string): string {
  const t = new Date(value);
  if (Number.isNaN(t.getTime())) throw new Error(`${flag}: not a time: ${JSON.stringify(value)}`);
  return t.toISOString();
}

function toJobId(id: string): string {
  if (!/^[1-9][0-9]{0,14}$/.test(id)) throw new Error(`not a replay job id (a positive integer): "${toInertText(id)}"`);
  return id;
}

function toKeyId(idOrPublicKey: string): string {
  const v = idOrPublicKey.toLowerCase();
  if (/^[0-9a-f]{32}$/.test(v)) return v;
  if (/^[0-9a-f]{64}$/.test(v)) return verifierKeyId(v);
  throw new Error(`not a verifier key id (32 hex) or public key (64 hex): ${JSON.stringify(idOrPublicKey)}`);
}

type TaskJson = { id: string; metricName: string; direction: string; policy: { quorum?: number } | null };

/**
 * The tasks and how a claim on each can settle: a circuit (zk), or enough trusted operators for the quorum
 * (attestations, and replay by their workers). A task with neither keeps every claim pending for ever, which nothing
 * else tells the operator: the intake accepts its claims all the same.
 */
async function taskList(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: commonOptions });
  if (values.help || positionals.length > 0) return usage(values.help);
  // Tasks and the registry are public: no token needed to read them.
  const { tasks } = (await apiRequest<{ tasks: TaskJson[] }>(values.server, 'GET', '/v1/tasks')).body;
  const rows = await settlement(values.server, tasks.map((t) => t.id), tasks);
  if (values.json) {
    console.log(JSON.stringify({ tasks: rows }));
    return 0;
  }
  if (rows.length === 0) console.log('no tasks');
  for (const r of rows) {
    const zk = r.circuits.length ? `zk (${r.circuits.join(', ')})` : 'no circuit';
    console.log(`${r.id}  ${r.metricName} (${r.direction} is better)  ${zk}  trusted operators ${r.operators} of quorum ${r.quorum}`);
    if (!r.settles) console.log(`  ${neverSettles(r.id)}`);
  }
  return 0;
}

type Settlement = TaskJson & { circuits: string[]; operators: number; quorum: number; settles: boolean };

/**
 * How a claim on each task can settle: a circuit (zk), or as many distinct trusted operators as the quorum
 * (attestations, and replays by their workers). A task with neither keeps every claim pending for ever, and nothing
 * else tells the operator: the intake accepts its claims all the same.
 */
async function settlement(server: string, ids: string[], known: TaskJson[] = []): Promise<Settlement[]> {
  const { keys } = (await apiRequest<{ keys: KeyJson[] }>(server, 'GET', '/v1/verifier-keys')).body;
  const now = Date.now();
  const rows: Settlement[] = [];
  for (const id of ids) {
    const task = (await apiRequest<TaskJson & { circuits: { id: string }[] }>(server, 'GET', `/v1/tasks/${encodeURIComponent(id)}`)).body;
    const live = keys.filter((k) => k.tasks.includes(id) && !k.revokedAt && (!k.validUntil || Date.parse(k.validUntil) > now));
    const operators = new Set(live.map((k) => k.operator)).size;
    const quorum = task.policy?.quorum ?? 1;
    const base = known.find((t) => t.id === id) ?? task;
    rows.push({ id, metricName: base.metricName, direction: base.direction, policy: base.policy, circuits: task.circuits.map((c) => c.id), operators, quorum, settles: task.circuits.length > 0 || operators >= quorum });
  }
  return rows;
}

function neverSettles(id: string): string {
  return (
    `warning: claims on ${id} can never settle: it has no circuit and fewer trusted operators than its quorum. ` +
    `Trust verifier keys for it (proofboard admin verifier add --tasks ${id}) or register a circuit.`
  );
}

type AuditEntry = { id: number; at: string; actor: string; action: string; target: string; details: unknown };

async function auditList(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...commonOptions, action: { type: 'string' }, target: { type: 'string' }, limit: { type: 'string' }, before: { type: 'string' } },
  });
  if (values.help || positionals.length > 0) return usage(values.help);
  const common = toCommon(values);
  const query = new URLSearchParams();
  for (const k of ['action', 'target', 'limit', 'before'] as const) if (values[k] !== undefined) query.set(k, values[k]);
  const res = await apiRequest<{ entries: AuditEntry[]; next: string | null }>(common.server, 'GET', `/v1/admin/audit?${query}`, undefined, auth(common));
  // Details hold operator-typed text (names, reasons): made inert before they reach a terminal.
  if (common.json) console.log(toInertText(JSON.stringify(res.body)));
  else if (res.body.entries.length === 0) console.log('no audit entries');
  else {
    for (const e of res.body.entries) console.log(toInertText(`${e.id}  ${e.at}  ${e.actor}  ${e.action}  ${e.target}  ${JSON.stringify(e.details)}`));
    if (res.body.next) console.log(`(older entries: --before ${res.body.next})`);
  }
  return 0;
}
