// The task.definition check on a bundle with no definition entry: a server could drop a task's definition to escape
// the comparison, so the default is a failure; --allow-unlogged-tasks accepts a task from an older build with a
// warning; verdicts that name an entry fail either way (test/api/attestation-pins.test.ts shows it through the API).
import { describe, expect, it } from 'vitest';
import type { ClaimBundle } from '../../src/recheck/bundle.ts';
import { checkTaskDefinition } from '../../src/recheck/task-definition.ts';
import type { Checkpoint } from '../../src/log/index.ts';

const bundle = { task: { id: 'old-task', definitionLogIndex: null, circuits: [] }, log: { leaves: [] }, claim: { history: [] } } as unknown as ClaimBundle;
const checkpoint = { origin: 'test', size: 3, rootHash: new Uint8Array(32), extensions: [] } as Checkpoint;

describe('a task without a logged definition', () => {
  it('fails by default, naming the flag that accepts it', () => {
    expect(checkTaskDefinition(bundle, checkpoint, new Set())).toMatchObject({ id: 'task.definition', status: 'fail', detail: expect.stringMatching(/--allow-unlogged-tasks/) });
  });
  it('is a warning with --allow-unlogged-tasks', () => {
    expect(checkTaskDefinition(bundle, checkpoint, new Set(), true)).toMatchObject({ status: 'warn' });
  });
  it('fails even then when a verdict names a definition entry', () => {
    expect(checkTaskDefinition(bundle, checkpoint, new Set([0]), true)).toMatchObject({ status: 'fail', detail: expect.stringMatching(/judged against the definition at log entry 0/) });
  });
});
