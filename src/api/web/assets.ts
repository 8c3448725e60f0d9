// Static assets with content-hashed URLs: browsers may cache them for a year, and a new deploy changes the URL.
import { createHash } from 'node:crypto';
import { SITE_CSS } from './site-css.ts';
import { SITE_JS } from './site-js.ts';

export type Asset = { path: string; body: string; type: string };

function asset(name: string, ext: string, body: string, type: string): Asset {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
  return { path: `/assets/${name}.${hash}.${ext}`, body, type };
}

export const siteCss = asset('site', 'css', SITE_CSS, 'text/css; charset=utf-8');
export const siteJs = asset('site', 'js', SITE_JS, 'text/javascript; charset=utf-8');

export const FAVICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#2f5bd3"/>' +
  '<path d="M9 17l5 5 9-12" fill="none" stroke="#fff" stroke-width="3.5" stroke-linecap="round" stroke-linejoin="round"/></svg>';
