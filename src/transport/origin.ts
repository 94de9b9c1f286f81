// The origin ("https://host:port") of an absolute URL, by scanning instead of parsing.
// Request URLs reaching middleware and transport are already in the WHATWG parser's
// normal form (src/request/url-check.ts), so the authority ends at the first "/" after
// "//" (or at "?"/"#" when there is no path). Used on every attempt, hence no `new URL`.

// Rows of a pipeline nearly always share one origin, so the last answer is tried
// first: a prefix check instead of a scan and a new string per call.
let lastOrigin = '';

export function originOf(url: string): string {
  const n = lastOrigin.length;
  if (n > 0 && url.startsWith(lastOrigin)) {
    const c = url.charCodeAt(n);
    if (url.length === n || c === 47 || c === 63 || c === 35) return lastOrigin;
  }
  const start = url.indexOf('//');
  if (start < 0) return url; // not an absolute URL; never remembered (see below)
  for (let i = start + 2; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 47 /* / */ || c === 63 /* ? */ || c === 35 /* # */) return (lastOrigin = url.slice(0, i));
  }
  // Only "scheme://authority" is remembered: then a URL that starts with it, followed by
  // "/", "?", "#" or nothing, has that very authority. A remembered "http:" (from a
  // malformed URL) would answer "http:" for every http URL, whatever its host.
  return (lastOrigin = url);
}

/** The path and query of an absolute URL ("/" when it has none); the fragment is never sent. */
export function pathOf(url: string, origin: string): string {
  if (url.length === origin.length) return '/';
  let rest = url.slice(origin.length);
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  return rest.charCodeAt(0) === 47 ? rest : '/' + rest;
}
