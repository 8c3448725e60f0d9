// The frame every page shares: skip link, header, one <main>, footer. Semantic landmarks first, so a keyboard or
// screen-reader user reaches the content in one step.
import type { Child } from 'hono/jsx';
import { siteCss, siteJs } from './assets.ts';

export type Section = 'tasks' | 'claims' | 'docs' | null;

export function Layout(props: { title: string; section?: Section; head?: Child; children?: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title === 'proofboard' ? 'proofboard' : `${props.title} · proofboard`}</title>
        <meta name="description" content="Verified research claims from an untrusted crowd, with evidence anyone can re-check." />
        <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
        <link rel="stylesheet" href={siteCss.path} />
        <script src={siteJs.path} defer></script>
        {props.head}
      </head>
      <body>
        <a class="skip-link" href="#main">
          Skip to content
        </a>
        <header class="site-header">
          <div class="bar">
            <a class="brand" href="/">
              <Logo />
              proofboard
            </a>
            <nav class="site-nav" aria-label="Site">
              <a href="/" aria-current={props.section === 'tasks' ? 'page' : undefined}>
                Tasks
              </a>
              <a href="/claims" aria-current={props.section === 'claims' ? 'page' : undefined}>
                Claims
              </a>
              <a href="/openapi.json">API</a>
              <a href="/v1/log/checkpoint">Log checkpoint</a>
            </nav>
          </div>
        </header>
        <main id="main" tabindex={-1}>
          {props.children}
        </main>
        <footer class="site-footer">
          Every verdict is appended to a signed transparency log. Re-check any entry yourself with{' '}
          <code>proofboard recheck</code>.
        </footer>
      </body>
    </html>
  );
}

function Logo() {
  return (
    <svg viewBox="0 0 32 32" aria-hidden="true" focusable="false">
      <rect width="32" height="32" rx="7" fill="#2f5bd3" />
      <path d="M9 17l5 5 9-12" fill="none" stroke="#fff" stroke-width="3.5" stroke-linecap="round" stroke-linejoin="round" />
    </svg>
  );
}

/** The verification badges, one per method, plus audited and the non-verified statuses. */
export function Badge(props: { kind: string; label?: string; title?: string }) {
  const label = props.label ?? props.kind;
  return (
    <span class={`badge ${props.kind}`} title={props.title ?? BADGE_TITLES[props.kind]}>
      {label}
    </span>
  );
}

const BADGE_TITLES: Record<string, string> = {
  zk: 'verified by a zero-knowledge proof of the evaluation',
  attested: 'verified by signed re-run attestations from trusted verifier operators',
  replayed: 'verified by a sandboxed replay on a trusted verifier',
  audited: 'an audit replay re-ran the commit and agreed',
  disputed: 'an audit or attestation contradicted this claim',
  pending: 'not decided yet',
  rejected: 'the evidence was false or contradicted',
  verified: 'verified',
};
