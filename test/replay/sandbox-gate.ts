// Sandbox tests run for real or not at all. In CI (CI or PROOFBOARD_REQUIRE_SANDBOX=1) a missing sandbox
// fails the suite; elsewhere the suite is skipped with a loud warning, never silently.
import { describe, it } from 'vitest';
import { checkSandboxAvailable } from '../../src/replay/sandbox.ts';

const availability = await checkSandboxAvailable({ smoke: true });

export const sandboxMissing = availability.available ? undefined : availability.missing.join('; ');

export function describeSandbox(name: string, body: () => void): void {
  if (sandboxMissing === undefined) {
    describe(name, body);
    return;
  }
  if (process.env.CI || process.env.PROOFBOARD_REQUIRE_SANDBOX === '1') {
    describe(name, () => {
      it('needs a working sandbox in CI', () => {
        throw new Error(`replay sandbox unavailable in CI: ${sandboxMissing}`);
      });
    });
    return;
  }
  console.warn(`\n*** SKIPPING "${name}": replay sandbox unavailable (${sandboxMissing}). These tests never skip in CI. ***\n`);
  describe.skip(name, body);
}
