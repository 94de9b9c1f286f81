// Keeping secrets out of the sink, logs and error messages. Header values are dropped
// by name (Authorization, Cookie, … and configured names); every other string is
// scrubbed of the known secret values (config secrets, in plain, URL-encoded, form-
// encoded and base64 forms), since a secret can also be templated into a URL, a body
// or a custom header.

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

export function createRedactor(secrets: readonly string[], headerNames: readonly string[] = []): Redactor {
  const names = new Set([...ALWAYS, ...headerNames.map((n) => n.toLowerCase())]);
  const forms = new Set<string>();
  for (const s of secrets) {
    // Very short "secrets" would shred ordinary text; nobody uses a 3-char password in earnest.
    if (typeof s !== 'string' || s.length < 4) continue;
    forms.add(s);
    forms.add(encodeURIComponent(s));
    forms.add(encodeURIComponent(s).replace(/%20/g, '+'));
    forms.add(Buffer.from(s, 'utf8').toString('base64'));
  }
  // Longest first, so a secret containing another is replaced whole.
  const values = [...forms].sort((a, b) => b.length - a.length);

  const text = values.length === 0
    ? (t: string) => t
    : (t: string) => {
        for (let i = 0; i < values.length; i++) {
          if (t.includes(values[i])) t = t.split(values[i]).join(REDACTED);
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
