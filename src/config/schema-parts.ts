// Building blocks of the config schema: strict objects with "did you mean", durations,
// sizes, status sets, templates, host names, paths. Each accepts the shorthand a user
// writes and outputs the one normalised value (ms, bytes, absolute path, ...).
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { parseDuration, parseSize, parseStatusRange } from './units.js';
import { parseTemplate, TemplateSyntaxError } from './template-syntax.js';

/**
 * Marks a message that carries data for the issue formatter (issues.ts) rather than
 * prose: an object's known keys, so an unknown key can get a "did you mean".
 */
export const KNOWN_KEYS_MARK = '\u0001known:';

/** A `.strict()` object whose unknown-key issue carries the known keys. */
export function strictObject<T extends z.ZodRawShape>(shape: T) {
  const known = JSON.stringify(Object.keys(shape));
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? KNOWN_KEYS_MARK + known : undefined),
  });
}

/** Shows a user value inside a message, shortened. */
export function show(v: unknown): string {
  const s =
    typeof v === 'string'
      ? JSON.stringify(v)
      : v === undefined
        ? 'nothing'
        : typeof v === 'number' && !Number.isFinite(v)
          ? String(v) // JSON would say "null"
          : (JSON.stringify(v) ?? String(v));
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}

const notDuration = (iss: { input?: unknown }) =>
  `${show(iss.input)} is not a duration; use e.g. 250ms, 30s, 5m, 1h or a number of seconds`;
const DURATION_STRING = /^\s*(\d+(\.\d+)?\s*|(\d+(\.\d+)?(ms|s|m|h))+)\s*$/;

/** `250ms`, `30s`, `5m`, `1h`, `1m30s` or seconds → milliseconds. */
export function durationValue() {
  return z
    .union([z.number().nonnegative({ error: 'must not be negative' }), z.string().regex(DURATION_STRING, { error: notDuration })], { error: notDuration })
    .transform((v, ctx) => {
      const r = parseDuration(v);
      if (!r.ok) {
        ctx.addIssue({ code: 'custom', message: r.message });
        return z.NEVER;
      }
      // Node's timers hold at most 2^31-1 ms and fire after 1 ms beyond that: a longer
      // commit_interval would commit after every row, a longer backoff would not wait.
      if (r.value > MAX_DURATION_MS) {
        ctx.addIssue({ code: 'custom', message: `${show(v)} is too long; a duration can be at most 596h (about 24.8 days)` });
        return z.NEVER;
      }
      return r.value;
    });
}

/** The longest duration a Node timer can wait (2^31-1 ms). */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** A duration with a default, written in input form ("30s"). */
export function duration(def: string) {
  return durationValue().prefault(def);
}

/** A duration that must be more than zero (a timeout of 0 would fail every request). */
export function positiveDurationValue() {
  return durationValue().refine((ms) => ms > 0, { error: 'must be more than 0' });
}

export function positiveDuration(def: string) {
  return positiveDurationValue().prefault(def);
}

const notSize = (iss: { input?: unknown }) => `${show(iss.input)} is not a size; use e.g. 10MB, 512KiB, 1GB or a number of bytes`;
// No `i` flag: the pattern is copied into the JSON Schema, where flags do not exist.
const SIZE_STRING = /^\s*\d+(\.\d+)?\s*(([kKmMgGtT][iI]?)?[bB])?\s*$/;

/** `10MB`, `512KiB`, `1GB` or bytes → bytes, with a default in input form ("10MB"). */
export function size(def: string) {
  return z
    .union([z.number().int({ error: notSize }).nonnegative({ error: notSize }), z.string().regex(SIZE_STRING, { error: notSize })], {
      error: notSize,
    })
    .transform((v, ctx) => {
      const r = parseSize(v);
      if (!r.ok) {
        ctx.addIssue({ code: 'custom', message: r.message });
        return z.NEVER;
      }
      return r.value;
    })
    .prefault(def);
}

/** One HTTP status spec: 200, "200-299" or "2xx" → an inclusive range. */
export const statusSpec = z
  .union([z.number().int(), z.string()], {
    error: (iss) => `${show(iss.input)} is not a status; use a code (200), a range ("200-299") or a class ("2xx")`,
  })
  .transform((v, ctx) => {
    const r = parseStatusRange(v);
    if (!r.ok) {
      ctx.addIssue({ code: 'custom', message: r.message });
      return z.NEVER;
    }
    return r.value;
  })
  .describe('an HTTP status: a code (404), a range ("200-299") or a class ("2xx")');

/** Adds an issue when `source` is not a valid template. */
export function checkTemplate(source: string, ctx: Pick<z.core.$RefinementCtx, 'addIssue'>, path: PropertyKey[] = []): void {
  try {
    parseTemplate(source);
  } catch (e) {
    if (!(e instanceof TemplateSyntaxError)) throw e;
    ctx.addIssue({ code: 'custom', path, message: `bad template: ${e.message}`, input: source });
  }
}

const isPlainObject = (v: unknown): boolean => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A template string (`{{ column | filter }}`), syntax-checked at load. */
export function template() {
  return z
    .string({
      error: (iss) =>
        iss.input === undefined
          ? 'is required'
          : isPlainObject(iss.input)
            ? 'expected a template string, got a mapping; in YAML, quote a value that starts with "{{"'
            : `expected a template string, got ${show(iss.input)}`,
    })
    .superRefine((s, ctx) => checkTemplate(s, ctx));
}

/** A template that may also be written as a plain number or boolean (query, header and form values). */
export function scalarTemplate() {
  return z
    .union([z.string(), z.number(), z.boolean()], {
      error: (iss) =>
        isPlainObject(iss.input)
          ? 'expected a string, number or boolean, got a mapping; in YAML, quote a value that starts with "{{"'
          : `expected a string, number or boolean, got ${show(iss.input)}`,
    })
    .transform((v) => String(v))
    .superRefine((s, ctx) => checkTemplate(s, ctx));
}

/** An HTTP header name (RFC 9110 token). */
export const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { error: (iss) => `${show(iss.input)} is not a valid HTTP header name` });

/** A column name written to the sink (Delta/Spark friendly). */
export const sinkColumnName = z
  .string()
  .regex(/^[a-z_][a-z0-9_]*$/, {
    error: (iss) => `${show(iss.input)} is not a valid column name; use lower-case letters, digits and _ (not starting with a digit)`,
  });

/**
 * An allowed_hosts entry: `api.example.com` (any port), `api.example.com:8443` (that port),
 * `*.example.com` (any subdomain), `10.0.0.1`, `[::1]`. Normalised as the WHATWG URL parser
 * would (lower case, punycode), which is how src/request/allowed-hosts.ts compares them.
 */
const HOST_ENTRY = /^(\*\.)?(\[[0-9a-fA-F:.]+\]|[^:/?#@\s*]+)(?::(\d{1,5}))?$/;
const notHost = (iss: { input?: unknown }) =>
  `${show(iss.input)} is not a host; give a host name, host:port or *.domain (no scheme or path), e.g. api.example.com`;
export const hostName = z.string().transform((raw, ctx) => {
  const m = HOST_ENTRY.exec(raw.trim());
  let host = '';
  try {
    if (m) host = new URL(`http://${m[2]}/`).hostname;
  } catch {
    /* reported below */
  }
  if (!m || !host || (m[3] !== undefined && Number(m[3]) > 65535)) {
    ctx.addIssue({ code: 'custom', message: notHost({ input: raw }) });
    return z.NEVER;
  }
  return `${m[1] ?? ''}${host}${m[3] !== undefined ? ':' + Number(m[3]) : ''}`;
});

/** True for `s3://…`, `https://…` and other URLs that are not local paths. */
export const isUrlLike = (p: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//i.test(p);

/** A local path resolved against the config's directory (`~/` is the home directory); URLs kept as given. */
export function resolvePath(baseDir: string, p: string): string {
  if (isUrlLike(p)) return p;
  if (p === '~' || p.startsWith('~/')) return resolve(homedir(), p.slice(2));
  return isAbsolute(p) ? resolve(p) : resolve(baseDir, p);
}
