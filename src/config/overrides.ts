// `--set key=value` overrides, applied to the raw config before interpolation and
// validation, so an override is checked exactly like the file (unknown keys included).
// Values are YAML: `4` is a number, `true` a boolean, `[200-299, 404]` a list, `x` a string.
import { parse as parseYaml } from 'yaml';
import { formatPath, parsePath, type PathSegment } from './key-path.js';

export interface OverrideIssue { path: PathSegment[]; message: string }
export interface OverrideResult {
  value: unknown;
  /** The paths that were set, so issues under them can say "from --set" instead of a file line. */
  paths: PathSegment[][];
  issues: OverrideIssue[];
}

// Maps whose keys are free-form names that may contain dots (header names, Spark conf
// keys): in `execution.spark.conf.spark.executor.memory` everything after `conf` is one key.
const FREE_FORM_MAPS: readonly (readonly (string | '#')[])[] = [
  ['request', 'query'],
  ['request', 'headers'],
  ['request', 'body', 'form'],
  ['auth', 'extra_params'],
  ['execution', 'spark', 'conf'],
  ['middleware', '#', 'set'],
];

function joinFreeFormKey(segs: PathSegment[]): PathSegment[] {
  for (const pattern of FREE_FORM_MAPS) {
    const matches = pattern.every((p, i) => (p === '#' ? typeof segs[i] === 'number' : segs[i] === p));
    if (matches && segs.length > pattern.length + 1 && segs.slice(pattern.length).every((s) => typeof s === 'string')) {
      return [...segs.slice(0, pattern.length), segs.slice(pattern.length).join('.')];
    }
  }
  return segs;
}

function parseValue(raw: string): unknown {
  try {
    return parseYaml(raw);
  } catch {
    return raw; // not valid YAML (e.g. "a: b: c"): take it literally
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * A deep copy in which every place is its own value. A YAML alias (`body: {form: *q}`)
 * reaches us as one object shared by two places, and structuredClone keeps that
 * sharing: `--set request.query.page=2` would then change the body too.
 */
export function copyTree(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(copyTree);
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = copyTree(x);
    return out;
  }
  return v;
}

export function applyOverrides(tree: unknown, sets: readonly string[]): OverrideResult {
  const root: Record<string, unknown> = isPlainObject(tree) ? (copyTree(tree) as Record<string, unknown>) : {};
  const issues: OverrideIssue[] = [];
  const paths: PathSegment[][] = [];

  for (const set of sets) {
    const eq = set.indexOf('=');
    if (eq <= 0) {
      // Only the key-like start is echoed: `auth.password:hunter2` must not print the password.
      const shown = /^[\w.[\]"'-]*/.exec(set)![0];
      issues.push({ path: [], message: `--set "${shown}${shown.length < set.length ? '…' : ''}": expected key=value, e.g. execution.workers=4` });
      continue;
    }
    const keyText = set.slice(0, eq).trim();
    let segs: PathSegment[];
    try {
      segs = joinFreeFormKey(parsePath(keyText));
    } catch (e) {
      issues.push({ path: [], message: `--set: ${(e as Error).message}` });
      continue;
    }
    if (typeof segs[0] !== 'string') {
      issues.push({ path: [], message: `--set: bad key path "${keyText}": it must start with a key, not an index` });
      continue;
    }
    const problem = setIn(root, segs, parseValue(set.slice(eq + 1)));
    if (problem) issues.push({ path: [], message: `--set: cannot set "${keyText}": ${problem}` });
    else paths.push(segs);
  }
  return { value: root, paths, issues };
}

/** Sets `value` at `segs`, creating missing objects/lists; returns why not, or null. */
function setIn(root: Record<string, unknown>, segs: PathSegment[], value: unknown): string | null {
  let cur: unknown = root;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i];
    const last = i === segs.length - 1;
    const here = formatPath(segs.slice(0, i)) || '(root)';
    let next: unknown;
    if (typeof seg === 'number') {
      if (!Array.isArray(cur)) return `${here} is not a list, so [${seg}] cannot index it`;
      if (seg > cur.length) return `${here} has ${cur.length} item(s); [${seg}] is out of range (use [${cur.length}] to append)`;
      if (last) {
        cur[seg] = value;
        return null;
      }
      next = cur[seg];
      // A middleware given as a bare name (`- retry`) becomes `{type: retry}` so its options can be set.
      if (typeof next === 'string' && typeof segs[i + 1] === 'string') next = cur[seg] = { type: next };
      if (next === undefined || next === null) next = cur[seg] = typeof segs[i + 1] === 'number' ? [] : {};
    } else {
      if (!isPlainObject(cur)) return `${here} is not a mapping, so it has no key "${seg}"`;
      if (last) {
        Object.defineProperty(cur, seg, { value, enumerable: true, writable: true, configurable: true });
        return null;
      }
      next = Object.hasOwn(cur, seg) ? cur[seg] : undefined;
      if (next === undefined || next === null) {
        next = typeof segs[i + 1] === 'number' ? [] : {};
        Object.defineProperty(cur, seg, { value: next, enumerable: true, writable: true, configurable: true });
      }
    }
    if (next === null || typeof next !== 'object') {
      return `${formatPath(segs.slice(0, i + 1))} is a ${typeof next}, not a mapping or list`;
    }
    cur = next;
  }
  return null;
}
