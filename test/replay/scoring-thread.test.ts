// Scoring runs on a thread with its own budget: the harness's answer comes back as it was, a harness that throws on
// the job's output is an answer (the output's fault), and an overrun ends the scoring with a refusal, never a hang.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { scoreInThread } from '../../src/replay/scoring-thread.ts';
import { harnessById } from '../../src/replay/harnesses.ts';
import { ROOT } from '../helpers/processes.ts';

const model = readFileSync(join(ROOT, 'examples', 'digits', 'model.json'));

it('returns what the harness computes on this thread', async () => {
  const here = harnessById('digits-mlp-v1')!.evaluate(model);
  expect(here).toEqual({ ok: true, value: 56 });
  expect(await scoreInThread('digits-mlp-v1', model)).toEqual(here);
});

it('answers with the harness refusal for output it cannot parse', async () => {
  expect(await scoreInThread('digits-mlp-v1', Buffer.from('{"format":'))).toEqual({ ok: false, message: 'model.json rejected: weights: not UTF-8 JSON' });
  expect(await scoreInThread('digits-mlp-v1', Buffer.from('[]'.repeat(8000)))).toMatchObject({ ok: false });
});

it('ends scoring that runs past its time budget with a refusal', async () => {
  // The budget starts once the harness is loaded; a budget of 0 ms is over before any model is scored.
  expect(await scoreInThread('digits-mlp-v1', model, { wallTimeMs: 0, memoryBytes: 64 * 1024 ** 2 })).toEqual({
    ok: false,
    message: 'scoring ran past its 0 ms budget',
  });
});
