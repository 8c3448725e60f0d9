// Sandbox tests run for real. Where bubblewrap or the cgroups are missing they are skipped loudly, except where
// CI (PROOFBOARD_REQUIRE_SANDBOX=1) requires them: then a missing sandbox fails the run.
import { checkSandboxAvailable } from '../../src/replay/sandbox.ts';

export async function sandboxOrSkip(what: string): Promise<boolean> {
  const sandbox = await checkSandboxAvailable();
  if (sandbox.available) return true;
  if (process.env.PROOFBOARD_REQUIRE_SANDBOX === '1') throw new Error(`sandbox required but unavailable: ${sandbox.missing.join('; ')}`);
  console.warn(`\n*** SKIPPED: ${what}: sandbox unavailable (${sandbox.missing.join('; ')}) ***\n`);
  return false;
}
