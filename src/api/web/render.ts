// Renders a page component to a complete HTML document. Hono's JSX escapes every text child and attribute value;
// nothing in src/api/web uses raw() or dangerouslySetInnerHTML, so untrusted claim data stays text.
export async function renderDocument(node: unknown): Promise<string> {
  const body = await (node as { toString(): string | Promise<string> }).toString();
  return `<!doctype html>${body}`;
}
