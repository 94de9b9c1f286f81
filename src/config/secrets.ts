// Which config values are secrets, so logs, errors, the sink and `plan` can redact
// them. Decided on the raw (interpolated) tree by key name, so it also works for a
// config that failed validation (its error messages get redacted too).
import type { PathSegment } from './key-path.js';
import type { Reference } from './interpolate.js';

// Key names whose values are credentials. `token_url`, `*_file` and `*_header` name
// where a secret is, not the secret itself.
const SECRET_KEY = /(password|passwd|secret|token|api[-_]?key|authorization|cookie|credential|private[-_]?key)/i;
const NOT_SECRET_KEY = /(_url|_file|_header|_id)$/i;

/**
 * Spark/Hadoop conf keys whose values are credentials: dotted names such as
 * fs.s3a.secret.key, fs.s3a.access.key, fs.azure.account.key.<account>.dfs…,
 * spark.ssl.keyPassword, spark.authenticate.secret.
 */
export const SPARK_SECRET_CONF_KEY = /(secret|password|passwd|token|credential|private|(^|\.)(access\.|account\.|session\.)?key(\.|$))/i;

export function isSecretKey(key: PropertyKey): boolean {
  const k = String(key);
  return SECRET_KEY.test(k) && !NOT_SECRET_KEY.test(k);
}

/** True for a path whose value is a secret: a secret-named key (Spark conf keys by their own rule). */
function isSecretPath(path: readonly PathSegment[]): boolean {
  const last = path[path.length - 1];
  if (last === undefined || typeof last !== 'string') return false;
  const sparkConf = path.length === 4 && path[0] === 'execution' && path[1] === 'spark' && path[2] === 'conf';
  return sparkConf ? SPARK_SECRET_CONF_KEY.test(last) : isSecretKey(last);
}

// A reference's value is a secret on weaker evidence than a literal's: API keys come
// from the environment into places whose names say nothing (`url: …?api_key=${env:KEY}`,
// `Ocp-Apim-Subscription-Key`, `X-Auth`), so the variable's or file's name counts too.
// Only values long enough to be credentials: redacting a short common word would
// blank it out of every log line.
const SECRET_HINT = /(pass|pwd|secret|token|key|auth|credential|cookie|session|signature|bearer|jwt)/i;
const MIN_HINTED_SECRET = 8;

// Only where a value is sent or configures access: a source path or key column read
// from ${env:INPUT_TOKENS_FILE} is not a credential, and hiding it would garble messages.
const SENT_SECTIONS = new Set(['request', 'auth', 'middleware', 'execution']);

function isHintedSecret(r: Reference): boolean {
  if (r.value.length < MIN_HINTED_SECRET || !SENT_SECTIONS.has(String(r.path[0]))) return false;
  const last = [...r.path].reverse().find((s): s is string => typeof s === 'string');
  // `token_url: ${env:AUTH_SERVER}` names where a secret is, not the secret itself.
  if (last !== undefined && NOT_SECRET_KEY.test(last)) return false;
  const name = r.kind === 'env' ? r.name : r.name.split(/[\\/]/).pop()!;
  return SECRET_HINT.test(name) || (last !== undefined && SECRET_HINT.test(last));
}

/**
 * Every secret string in the config: values of secret-named keys (whole, unless they
 * are templates), and what `${env:}`/`${file:}` references resolved to under those keys,
 * anywhere in `auth`, or with a name that suggests a credential (API_KEY, X-Auth, ...).
 * Distinct, longest first (so redacting replaces whole values first).
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
    if (isSecretPath(r.path) || (r.path[0] === 'auth' && r.kind === 'file') || isHintedSecret(r)) found.add(r.value);
  }
  found.delete('');
  return [...found].sort((a, b) => b.length - a.length);
}

/**
 * For messages that may echo a value: redacts `secrets` like `redact`, also where a
 * message shortened one (`"eyJhbGciOiJIUzI1NiJ9.eyJzdWIi...`), and blanks other
 * `quiet` values (read from env or files, not secret) only where they stand quoted as
 * the value, so the prose around them stays readable ("expected true or false").
 */
export function redactMessage(text: string, secrets: readonly string[], quiet: readonly string[]): string {
  // A secret of a few characters (a test password "p") would blank letters out of every
  // word; like the run's redactor, such values are hidden only where they are the value.
  let out = redact(text, secrets.filter((s) => s.length >= 4));
  for (const s of secrets) if (s.length >= MIN_HINTED_SECRET) out = redactCutPrefix(out, s);
  for (const v of [...secrets.filter((s) => s.length < 4), ...quiet]) {
    const quoted = JSON.stringify(v);
    if (out.includes(quoted)) out = out.split(quoted).join('"***"');
    out = redactCutPrefix(out, v);
  }
  return out;
}

/** Replaces a start of `value` (8 characters or more) that a message cut short with "...". */
function redactCutPrefix(text: string, value: string): string {
  let out = text;
  for (let at = out.indexOf('...'); at >= 0; at = out.indexOf('...', at + 3)) {
    for (let k = Math.min(at, value.length - 1); k >= MIN_HINTED_SECRET; k--) {
      if (out.startsWith(value.slice(0, k), at - k)) {
        out = out.slice(0, at - k) + '***' + out.slice(at);
        at = at - k + 3; // where the "..." now stands
        break;
      }
    }
  }
  return out;
}

/** Replaces every occurrence of each value in `text` with `***`. */
export function redact(text: string, values: readonly string[]): string {
  let out = text;
  for (const v of values) if (v && out.includes(v)) out = out.split(v).join('***');
  return out;
}
