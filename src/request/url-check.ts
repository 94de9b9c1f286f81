// The safety check of every rendered URL (see build.ts): no "." or ".." path segment
// from a row value, a valid absolute URL, no credentials, an http(s) scheme and an
// allowed host. The result is the URL as the WHATWG parser normalises it.
//
// Parsing costs ~1 µs a row, ~3% of a worker's CPU with tiny replies. Most rendered
// URLs need none of it: they start with an origin already parsed and allowed, and the
// rest is made of characters the parser leaves alone. Such a URL is its own normal
// form, with that origin's scheme, host and port, so it passes as it is. Anything
// else (another origin, a character the parser would encode or drop, a dot segment,
// a fragment) takes the full parse, exactly as before.
import { HostNotAllowedError, refusalOf, type HostPolicy } from './allowed-hosts.js';
import { originOf } from '../transport/origin.js';
import { TemplateError } from './template.js';

export type UrlCheck = (rendered: string) => string;

// Characters the WHATWG parser keeps as they are in the path and query of an http(s)
// URL: letters, digits and - . _ ~ ! $ & ( ) * + , ; = : @ / ? %. Percent sequences are
// never re-cased or decoded, except "%2e" as a dot segment, which is looked for apart.
// Left out, to the full parse: ' (encoded in special queries), # (fragment), \ (read
// as /), [ ] | ^ ` { } < > " and space, controls and non-ASCII (encoded or dropped).
const PLAIN = new Uint8Array(128);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&()*+,;=:@/?%') PLAIN[c.charCodeAt(0)] = 1;

/** At most this many origins remembered (a template with a templated host could make many). */
const MAX_ORIGINS = 10_000;

export function createUrlCheck(policy: HostPolicy, hasValues: boolean): UrlCheck {
  // Origins ("http://host:port", as the parser writes them) a rendered URL already
  // reached through the full parse and the host policy.
  const allowed = new Set<string>();

  const plain = (url: string): boolean => {
    const origin = originOf(url);
    return url.charCodeAt(origin.length) === 47 && allowed.has(origin) && plainPath(url, origin.length);
  };

  return (rendered) => {
    if (plain(rendered)) return rendered;
    const href = fullCheck(rendered, hasValues, policy);
    // Remembered only when the parse changed nothing: then the origin part of the rendered
    // text is exactly the parser's, and any URL starting with it has the same host.
    if (href === rendered && allowed.size < MAX_ORIGINS) allowed.add(originOf(href));
    return href;
  };
}

/**
 * Whether url[from..] (starting with "/") is a path and query the parser keeps as is:
 * only PLAIN characters, and no path segment that is a dot segment ("." or "..", also
 * spelled with %2e), which the parser would resolve.
 */
function plainPath(url: string, from: number): boolean {
  let inQuery = false;
  let segStart = from + 1;
  let dotty = true; // the segment so far is only "." and "%2e"
  for (let i = from + 1; i <= url.length; i++) {
    const c = i === url.length ? 47 : url.charCodeAt(i);
    if (c >= 128 || PLAIN[c] === 0) return false;
    if (inQuery) continue;
    if (c === 47 || c === 63) {
      if (dotty && i > segStart) return false;
      if (c === 63) inQuery = true;
      segStart = i + 1;
      dotty = true;
    } else if (dotty && c !== 46) {
      // "%2e" / "%2E" counts as a dot; anything else ends the chance of a dot segment.
      if (c === 37 && url.charCodeAt(i + 1) === 50 && (url.charCodeAt(i + 2) | 32) === 101) i += 2;
      else dotty = false;
    }
  }
  return true;
}

/** The full check: WHATWG parse, then credentials, scheme and host. */
function fullCheck(rendered: string, hasValues: boolean, policy: HostPolicy): string {
  if (hasValues && hasDotSegment(rendered)) {
    throw new TemplateError('request.url: a row value renders as a "." or ".." path segment');
  }
  let url: URL;
  try {
    url = new URL(rendered);
  } catch {
    throw new TemplateError('request.url: the rendered URL is not a valid absolute URL');
  }
  if (url.username !== '' || url.password !== '') {
    // They would land in the sink's url column and in logs; auth belongs in `auth`.
    throw new TemplateError('request.url: credentials in the URL (user:password@) are not allowed; use auth: basic');
  }
  const refusal = refusalOf(url, policy);
  if (refusal === 'scheme') {
    throw new HostNotAllowedError(`request.url: scheme "${url.protocol.slice(0, -1)}" is not allowed (http or https only)`);
  }
  if (refusal === 'host') {
    throw new HostNotAllowedError(`request.url: host "${url.host}" is not in allowed_hosts (${policy.described})`);
  }
  return url.href;
}

// Dot segments in the path part (before "?" / "#"); the WHATWG parser would resolve them.
function hasDotSegment(url: string): boolean {
  const start = url.indexOf('//');
  const pathStart = url.indexOf('/', start + 2);
  if (pathStart < 0) return false;
  let end = url.length;
  const q = url.indexOf('?', pathStart);
  if (q >= 0) end = q;
  const h = url.indexOf('#', pathStart);
  if (h >= 0 && h < end) end = h;
  let seg = pathStart + 1;
  for (let i = seg; i <= end; i++) {
    if (i === end || url.charCodeAt(i) === 47) {
      const len = i - seg;
      if ((len === 1 && url.charCodeAt(seg) === 46) || (len === 2 && url.charCodeAt(seg) === 46 && url.charCodeAt(seg + 1) === 46)) return true;
      seg = i + 1;
    }
  }
  return false;
}
