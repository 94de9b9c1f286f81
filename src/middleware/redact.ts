// Keeping secrets out of the sink, logs and error messages. Header values are dropped
// by name (Authorization, Cookie, … and configured names); every other string is
// scrubbed of the known secret values (config secrets and the credentials auth sends,
// see live-secrets.ts; in plain, URL-encoded, form-encoded and base64 forms, as the
// URL parser writes them, and each of those inside a JSON string as common encoders
// escape it), since a secret can also be templated into a URL, a body or a custom
// header, or echoed back by the API.
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
  // Longest first, so a secret containing another is replaced whole. A form with a
  // backslash (a JSON escape, mostly) can only be in a text that has one, and is searched
  // for only once its gate is found there (see gateOf): the JSON forms of a secret share
  // a few gates, so they cost a text a search or two, not one each. While no form has a
  // backslash (secrets of letters, digits and the like) a call costs what it did before
  // JSON forms existed.
  let values: string[] = [];
  let plain: string[] = [];
  /** Per entry of `values`: the index of its gate in `gates`, or -1 (searched for always). */
  let gated: number[] = [];
  let gates: string[] = [];
  const sort = (all: Iterable<string>) => {
    values = [...new Set(all)].sort((a, b) => b.length - a.length);
    plain = values.filter((v) => !v.includes('\\'));
    const index = new Map<string, number>();
    gated = values.map((v) => {
      const g = v.includes('\\') ? gateOf(v) : null;
      if (g === null) return -1;
      if (!index.has(g)) index.set(g, index.size);
      return index.get(g)!;
    });
    gates = [...index.keys()];
  };
  sort(forms);
  let seen = 0;
  const refresh = (): void => {
    if (live !== undefined && live.version !== seen) {
      seen = live.version;
      sort([...forms, ...live.forms()]);
    }
  };

  const scrub = (t: string): string => {
    refresh();
    if (plain.length === values.length || !t.includes('\\')) {
      for (let i = 0; i < plain.length; i++) if (t.includes(plain[i])) t = t.split(plain[i]).join(REDACTED);
      return t;
    }
    const found = new Int8Array(gates.length); // 0: not searched yet, 1: there, 2: not there
    for (let i = 0; i < values.length; i++) {
      const g = gated[i];
      if (g >= 0) {
        if (found[g] === 0) found[g] = t.includes(gates[g]) ? 1 : 2;
        if (found[g] === 2) continue;
      }
      if (t.includes(values[i])) t = t.split(values[i]).join(REDACTED);
    }
    return t;
  };
  const text = live === undefined && values.length === 0 ? (t: string) => t : scrub;

  const hasSensitive = (h: Record<string, string>): boolean => {
    for (const k in h) if (names.has(k) || names.has(k.toLowerCase())) return true;
    return false;
  };

  return {
    text,
    isSensitiveHeader: (name) => names.has(name.toLowerCase()),
    headersJson(h) {
      refresh();
      if (values.length === 0 && !hasSensitive(h)) return JSON.stringify(h); // the common case
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

// How JSON encoders write a string's characters inside a JSON string: JSON.stringify
// (and Python with ensure_ascii=False, Jackson, Ruby) escapes only " \ and control
// characters; PHP's json_encode also writes / as \/; Python's json.dumps and PHP write
// non-ASCII as \u00e4 (lower-case hex; other encoders use upper case); Go's encoding/json
// writes < > & as \u003c \u003e \u0026. Control characters as JSON.stringify does:
// \n, \t, … and \u001f for the rest.
interface JsonStyle {
  slash: boolean;
  unicode: 'raw' | 'lower' | 'upper';
  html: boolean;
}
const JSON_STYLES: readonly JsonStyle[] = [
  { slash: false, unicode: 'raw', html: false }, // first: the standard escape
  { slash: true, unicode: 'raw', html: false },
  { slash: false, unicode: 'lower', html: false },
  { slash: true, unicode: 'lower', html: false },
  { slash: false, unicode: 'upper', html: false },
  { slash: true, unicode: 'upper', html: false },
  { slash: false, unicode: 'raw', html: true },
];
const SHORT_ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
/** A character some encoder escapes; a string without one is the same in every style. */
const JSON_ESCAPED = /[\u0000-\u001f"\\/<>&\u0080-\uffff]/;

function jsonEscape(s: string, style: JsonStyle): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const c = ch.charCodeAt(0);
    const short = SHORT_ESCAPES[ch];
    if (short !== undefined) out += short;
    else if (ch === '/') out += style.slash ? '\\/' : ch;
    else if (c < 0x20 || (style.html && (ch === '<' || ch === '>' || ch === '&' || c === 0x2028 || c === 0x2029)) || (c >= 0x80 && style.unicode !== 'raw')) {
      const hex = c.toString(16).padStart(4, '0');
      out += '\\u' + (style.unicode === 'upper' ? hex.toUpperCase() : hex);
    } else out += ch;
  }
  return out;
}

/**
 * `v` as it stands inside a JSON string, in each encoder's style, and inside a JSON
 * string twice over (an API echoing a JSON body it was sent, as a string): `v` itself
 * not included, nothing when no encoder escapes any of its characters.
 */
function jsonForms(v: string): string[] {
  if (!JSON_ESCAPED.test(v)) return [];
  const out = new Set<string>();
  const standard = jsonEscape(v, JSON_STYLES[0]!);
  for (const style of JSON_STYLES) {
    const once = jsonEscape(v, style);
    out.add(once);
    out.add(jsonEscape(once, style));
    out.add(jsonEscape(standard, style));
  }
  out.delete(v);
  return [...out];
}

// Characters no JSON encoder escapes: a run of them in a string stands as is in each of
// its JSON forms.
const JSON_VERBATIM = /[^\u0000-\u001f"\\/<>&\u0080-\uffff]+/g;

/**
 * A substring every JSON form of the same string shares with `form` (so a text without
 * it holds none of them): the longest run of verbatim characters of the string `form`
 * escapes (once or twice), or null when there is none.
 */
function gateOf(form: string): string | null {
  let base = form;
  for (let k = 0; k < 2 && base.includes('\\'); k++) {
    try {
      const u: unknown = JSON.parse('"' + base + '"');
      if (typeof u !== 'string') break;
      base = u;
    } catch {
      break;
    }
  }
  const runs = (base.match(JSON_VERBATIM) ?? []).sort((a, b) => b.length - a.length);
  return runs.find((r) => form.includes(r)) ?? null;
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
  // Any of them inside a JSON string: a request body, an API echoing the request (the
  // query string, the Authorization header), an identity provider quoting the form.
  for (const f of [...out]) for (const j of jsonForms(f)) out.add(j);
  return [...out];
}
