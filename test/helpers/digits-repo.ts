// A submitter's repository for the example task: the starter files of examples/digits, committed with git, and
// the score its training really reaches (trained and scored here, outside any sandbox, by the same harness).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countCorrect, parseWeightsJson } from '../../src/zk/reference-evaluator.ts';
import { loadDigitsEvalRows } from '../../src/zk/example-task.ts';
import { ROOT } from './processes.ts';

export function makeDigitsRepo(edit?: (dir: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'proofboard-digits-'));
  for (const f of ['train.py', 'train.csv']) copyFileSync(join(ROOT, 'examples', 'digits', f), join(dir, f));
  edit?.(dir);
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', dir, '-c', 'user.email=t@example.org', '-c', 'user.name=t', ...args], { encoding: 'utf8' });
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'digits starter');
  const commit = git('rev-parse', 'HEAD').trim();
  git('update-ref', 'refs/heads/claim', commit);
  const bundlePath = join(dir, '..', `${commit}.bundle`);
  git('bundle', 'create', '-q', bundlePath, 'refs/heads/claim');
  const bundle = readFileSync(bundlePath);
  rmSync(bundlePath);
  return { dir, commit, bundle, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What seed 0 of this repo's training scores, measured on the host (the test's independent oracle). */
export function hostScore(dir: string, seed = 0): number {
  const out = join(dir, `host-model-${seed}.json`);
  execFileSync('/usr/bin/python3', [join(dir, 'train.py'), '--seed', String(seed), '--out', out]);
  const value = countCorrect(parseWeightsJson(readFileSync(out)), loadDigitsEvalRows());
  rmSync(out);
  return value;
}
