// `proofboard admin` for the registry and the record, through a real HTTP server on both databases: a task id that
// is not registered is refused (nothing stored, nothing audited), `task list` says which tasks can settle a claim and
// warns about one that never can, and `audit` reads back the trail that every action wrote.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/api/app.ts';
import type { AppContext } from '../../src/service/context.ts';
import { exampleTask } from '../../src/service/example-task.ts';
import { main } from '../../src/cli/main.ts';
import { makeTestContext, OPERATOR_TOKEN } from '../helpers/context.ts';
import { databaseKinds } from '../helpers/databases.ts';
import { newKey } from '../helpers/claims.ts';
import { serveApp } from '../helpers/http-server.ts';

type KeyJson = { id: string; tasks: string[] };

describe.each(databaseKinds())('proofboard admin: registry, task list and audit on %s', (kind) => {
  let ctx: AppContext;
  let close: () => Promise<void>;
  let server: { url: string; close: () => Promise<void> };
  const dir = mkdtempSync(join(tmpdir(), 'proofboard-admin-'));
  const tokenFile = join(dir, 'token');

  beforeAll(async () => {
    const t = await makeTestContext(kind);
    ctx = t.ctx;
    close = t.close;
    server = await serveApp(createApp(ctx, { log: () => {} }));
    writeFileSync(tokenFile, OPERATOR_TOKEN, { mode: 0o600 });
  });
  afterAll(async () => {
    await server.close();
    await close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The command in this process, as a person runs it, with what it printed. */
  async function admin(args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
    const error = vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
    try {
      const code = await main(['admin', ...args, '--server', server.url, '--token-file', tokenFile]);
      return { code, stdout: out.join('\n'), stderr: err.join('\n') };
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
  }
  const keys = async () => ((await (await fetch(`${server.url}/v1/verifier-keys`)).json()) as { keys: KeyJson[] }).keys;
  const audit = async (query = '') => {
    const res = await fetch(`${server.url}/v1/admin/audit?${query}`, { headers: { authorization: `Bearer ${OPERATOR_TOKEN}` } });
    expect(res.status).toBe(200);
    return (await res.json()) as { entries: { id: number; action: string; target: string; actor: string }[]; next: string | null };
  };

  it('refuses a verifier key for a task that is not registered, and stores and audits nothing', async () => {
    const before = (await audit()).entries.length;
    const key = newKey();
    const typo = await admin(['verifier', 'add', '--name', 'lab', '--operator', 'lab-a', '--public-key', key.hex, '--tasks', 'digits-mlp,digts-mlp']);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('unknown_task');
    expect(typo.stderr).toContain('"digts-mlp"');
    expect(typo.stderr).not.toContain('"digits-mlp"');
    expect((await keys()).map((k) => k.id)).toEqual([]);
    expect((await audit()).entries).toHaveLength(before);

    const added = await admin(['verifier', 'add', '--name', 'lab', '--operator', 'lab-a', '--public-key', key.hex, '--tasks', 'digits-mlp']);
    expect(added.code, added.stderr).toBe(0);
    const [stored] = await keys();
    const update = await admin(['verifier', 'update', stored!.id, '--tasks', 'digits-mlp,nope']);
    expect(update.code).toBe(1);
    expect(update.stderr).toContain('"nope"');
    expect((await keys())[0]!.tasks).toEqual(['digits-mlp']);
  });

  it('lists the tasks, and warns at registration and in the list about a task whose claims can never settle', async () => {
    const taskFile = join(dir, 'lonely.json');
    writeFileSync(taskFile, JSON.stringify({ ...exampleTask, id: 'lonely-task', evalSetCommitment: null }));
    const added = await admin(['task', 'add', taskFile]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain('task lonely-task registered');
    expect(added.stderr).toContain('warning: claims on lonely-task can never settle');

    const list = await admin(['task', 'list']);
    expect(list.code).toBe(0);
    const lines = list.stdout.split('\n');
    const digits = lines.find((l) => l.startsWith('digits-mlp '));
    expect(digits).toMatch(/zk \(digits-mlp\)/);
    expect(lines[lines.indexOf(digits!) + 1]).not.toContain('warning');
    const lonely = lines.findIndex((l) => l.startsWith('lonely-task '));
    expect(lines[lonely]).toContain('no circuit  trusted operators 0 of quorum');
    expect(lines[lonely + 1]).toContain('warning: claims on lonely-task can never settle');

    // Trust enough operators and the warning goes.
    const quorum = (exampleTask.policy as { quorum: number }).quorum;
    for (let i = 0; i < quorum; i++) {
      const r = await admin(['verifier', 'add', '--name', `lab ${i}`, '--operator', `lonely-lab-${i}`, '--public-key', newKey().hex, '--tasks', 'lonely-task']);
      expect(r.code, r.stderr).toBe(0);
    }
    const json = await admin(['task', 'list', '--json']);
    const rows = (JSON.parse(json.stdout) as { tasks: { id: string; settles: boolean; operators: number }[] }).tasks;
    expect(rows.find((r) => r.id === 'lonely-task')).toMatchObject({ settles: true, operators: quorum });
  });

  it('reads the audit trail back, filtered and a page at a time, and only with the operator token', async () => {
    const all = await audit();
    expect(all.entries.map((e) => e.action)).toEqual(expect.arrayContaining(['verifier_key.add', 'task.create', 'circuit.register']));
    const ids = all.entries.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));

    const keysOnly = await admin(['audit', '--action', 'verifier_key']);
    expect(keysOnly.code, keysOnly.stderr).toBe(0);
    expect(keysOnly.stdout).toContain('verifier_key.add');
    expect(keysOnly.stdout).not.toContain('task.create');

    const first = await admin(['audit', '--limit', '1']);
    expect(first.stdout.split('\n')).toHaveLength(2);
    const before = /--before (\d+)/.exec(first.stdout)?.[1];
    expect(before).toBe(String(ids[0]));
    const second = await admin(['audit', '--limit', '1', '--before', before!]);
    expect(second.stdout).toMatch(new RegExp(`^${ids[1]} `));

    expect((await fetch(`${server.url}/v1/admin/audit`)).status).toBe(401);
    const bad = await fetch(`${server.url}/v1/admin/audit?action=x%25`, { headers: { authorization: `Bearer ${OPERATOR_TOKEN}` } });
    expect(bad.status).toBe(400);
  });
});
