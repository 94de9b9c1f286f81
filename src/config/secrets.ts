// Which config values are secrets, so logs, errors, the sink and `plan` can redact
// them. Decided on the raw (interpolated) tree by key name, so it also works for a
// config that failed validation (its error messages get redacted too).
import type { PathSegment } from './key-path.js';
import type { Reference } from './interpolate.js';

// Key names whose values are credentials. `token_url`, `*_file` and `*_header` name
// where a secret is, not the secret itself.
const SECRET_KEY = /(password|passwd|secret|token|api[-_]?key|authorization|cookie|credential|private[-_]?key)/i;
const NOT_SECRET_KEY = /(_url|_file|_header|_id)$/i;

export function isSecretKey(key: PropertyKey): boolean {
  const k = String(key);
  return SECRET_KEY.test(k) && !NOT_SECRET_KEY.test(k);
}

/** True for a path whose value is a secret: a secret-named key, or any key under `auth` read from a file. */
function isSecretPath(path: readonly PathSegment[]): boolean {
  const last = path[path.length - 1];
  return last !== undefined && typeof last === 'string' && isSecretKey(last);
}

/**
 * Every secret string in the config: values of secret-named keys (whole, unless they
 * are templates), and what `${env:}`/`${file:}` references under those keys or anywhere
 * in `auth` resolved to. Distinct, longest first (so redacting replaces whole values first).
 */
export function collectSecrets(tree: unknown, references: readonly Reference[]): string[] {
  const found = new Set<string>();
  const walk = (v: unknown, path: PathSegment[]) => {
    if (typeof v === 'string') {
      if (isSecretPath(path) && !v.includes('{{')) found.add(v);
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
  };
  walk(tree, []);
  for (const r of references) {
    if (isSecretPath(r.path) || (r.path[0] === 'auth' && r.kind === 'file')) found.add(r.value);
  }
  found.delete('');
  return [...found].sort((a, b) => b.length - a.length);
}

/** Replaces every occurrence of each value in `text` with `***`. */
export function redact(text: string, values: readonly string[]): string {
  let out = text;
  for (const v of values) if (v && out.includes(v)) out = out.split(v).join('***');
  return out;
}
