// Keeping secrets out of the sink, logs and error messages. Header values are dropped
// by name (Authorization, Cookie, … and configured names); every other string is
// scrubbed of the known secret values (config secrets and the credentials auth sends,
// see live-secrets.ts; in plain, URL-encoded, form-encoded and base64 forms, and as
// the URL parser writes them), since a secret can also be templated into a URL, a body
// or a custom header, or echoed back by the API.
import type { LiveSecrets } from './live-secrets.js';

export const REDACTED = '[REDACTED]';

const REDACTED_JSON = JSON.stringify(REDACTED);

const ALWAYS = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie'];

export interface Redactor {
  /** A copy of `headers` with sensitive names replaced and secret values scrubbed. */
  headers(headers: Record<string, string>): Record<string, string>;
  /** The same as JSON.stringify(headers(h)), without the intermediate object (per row, for the sink). */
  headersJson(headers: Record<string, string>): string;
  /** `text` with every secret value replaced by [REDACTED]. */
  text(text: string): string;
  /** Whether a header name is redacted by name. */
  isSensitiveHeader(name: string): boolean;
}

/** Very short "secrets" would shred ordinary text; nobody uses a 3-char password in earnest. */
export const MIN_SECRET = 4;

/**
 * `secrets` are known up front; `live` (see live-secrets.ts) are learned while the worker
 * runs. Without live secrets, or while they stay unchanged, a call costs what it did
 * before they existed, plus one number compared.
 */
export function createRedactor(secrets: readonly string[], headerNames: readonly string[] = [], live?: LiveSecrets): Redactor {
  const names = new Set([...ALWAYS, ...headerNames.map((n) => n.toLowerCase())]);
  const forms = new Set<string>();
  for (const s of secrets) {
    if (typeof s !== 'string' || s.length < MIN_SECRET) continue;
    for (const f of secretForms(s)) forms.add(f);
  }
  // Longest first, so a secret containing another is replaced whole.
  const longestFirst = (all: Iterable<string>) => [...new Set(all)].sort((a, b) => b.length - a.length);
  let values = longestFirst(forms);
  let seen = 0;
  const current = (): string[] => {
    if (live !== undefined && live.version !== seen) {
      seen = live.version;
      values = longestFirst([...forms, ...live.forms()]);
    }
    return values;
  };

  const text = live === undefined && values.length === 0
    ? (t: string) => t
    : (t: string) => {
        const v = current();
        for (let i = 0; i < v.length; i++) {
          if (t.includes(v[i])) t = t.split(v[i]).join(REDACTED);
        }
        return t;
      };

  const hasSensitive = (h: Record<string, string>): boolean => {
    for (const k in h) if (names.has(k) || names.has(k.toLowerCase())) return true;
    return false;
  };

  return {
    text,
    isSensitiveHeader: (name) => names.has(name.toLowerCase()),
    headersJson(h) {
      if (current().length === 0 && !hasSensitive(h)) return JSON.stringify(h); // the common case
      let out = '{';
      for (const k in h) {
        if (out.length > 1) out += ',';
        out += JSON.stringify(k) + ':' + (names.has(k.toLowerCase()) ? REDACTED_JSON : JSON.stringify(text(h[k])));
      }
      return out + '}';
    },
    headers(h) {
      const out: Record<string, string> = {};
      for (const k in h) out[k] = names.has(k.toLowerCase()) ? REDACTED : text(h[k]);
      return out;
    },
  };
}

// The rendered URL lands in the url column as the WHATWG parser writes it (url-check.ts),
// and the parser re-encodes some characters that encodeURIComponent leaves alone or
// that a URL template holds raw: ' becomes %27 in a query, { } ` < > " and space in a
// path, non-ASCII as UTF-8 percent sequences. These are where a secret sits in each of
// those positions; the trailing "z" keeps the parser from trimming a trailing space.
const QUERY_AT = 'http://h/?q=';
const PATH_AT = 'http://h/p/';

/** A secret as the parser writes it after `prefix`, or null when it would not stay there. */
function parsedForm(prefix: string, s: string): string | null {
  try {
    const href = new URL(prefix + s + 'z').href;
    return href.startsWith(prefix) && href.endsWith('z') ? href.slice(prefix.length, -1) : null;
  } catch {
    return null;
  }
}

/** Every form a secret can take in the sink and logs (computed once, at construction). */
export function secretForms(s: string): string[] {
  const encoded = encodeURIComponent(s);
  // Form-encoded twice over: as templates write it (encodeURIComponent, + for space) and as
  // URLSearchParams does (OAuth2 token requests), which also encodes ! ' ( ) ~.
  const form = new URLSearchParams([['', s]]).toString().slice(1);
  const out = new Set([s, encoded, encoded.replace(/%20/g, '+'), form, Buffer.from(s, 'utf8').toString('base64')]);
  // A row value or a query template is encoded before parsing; a secret written into the URL template is not.
  for (const v of [encoded, s]) {
    for (const prefix of [QUERY_AT, PATH_AT]) {
      const f = parsedForm(prefix, v);
      // The parser drops tabs and newlines and resolves dot segments: never let that leave a scrap.
      if (f !== null && f.length >= MIN_SECRET) out.add(f);
    }
  }
  return [...out];
}
