// The one error for "this machine cannot run untrusted code safely": a missing tool, privilege, cgroup controller
// or capped work folder. Its own module so that sandbox.ts and work-folder.ts can both throw it.
export class SandboxUnavailableError extends Error {
  override readonly name: string = 'SandboxUnavailableError';
  constructor(readonly missing: string[]) {
    super(`sandbox unavailable, refusing to run untrusted code: missing ${missing.join('; ')}`);
  }
}
