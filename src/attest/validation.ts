// One wording for a schema refusal, wherever untrusted input is parsed: the first issue, at the field it names.
import type { z } from 'zod';

/**
 * `path.to.field: message` for the first issue of a zod error; `root` names the value itself when the issue has no path
 * (the whole request, the payload, the evidence item).
 */
export function firstIssue(error: z.ZodError, root = 'value'): string {
  const issue = error.issues[0];
  if (!issue) return `${root}: invalid`;
  return `${issue.path.length ? issue.path.join('.') : root}: ${issue.message}`;
}
