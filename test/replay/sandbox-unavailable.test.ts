// Without bubblewrap the sandbox refuses, naming what is missing; it never runs the command bare.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { checkSandboxAvailable, runInSandbox, SandboxUnavailableError } from '../../src/replay/sandbox.ts';

it('reports a missing bubblewrap and refuses to run', async () => {
  const tools = { bwrap: '/nonexistent/bwrap' };
  const availability = await checkSandboxAvailable({ tools });
  expect(availability.available).toBe(false);
  if (!availability.available) expect(availability.missing.join()).toMatch(/bubblewrap/);

  const work = await mkdtemp(join(tmpdir(), 'proofboard-unavailable-'));
  const marker = join(work, 'ran');
  try {
    await expect(runInSandbox({ command: ['/usr/bin/touch', marker], workDir: work }, { tools })).rejects.toBeInstanceOf(
      SandboxUnavailableError,
    );
    await expect(runInSandbox({ command: ['/usr/bin/touch', marker], workDir: work }, { tools })).rejects.toThrow(/bubblewrap/);
    const { existsSync } = await import('node:fs');
    expect(existsSync(marker)).toBe(false);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
