// Loading a pipeline config: read (YAML/JSON) → --set overrides → ${env:}/${file:}
// interpolation → strict validation and normalisation → PipelineConfig.
// Every problem found at any stage is collected and thrown together as one
// ConfigError, each with its key path and (from a file) its line.
import { dirname, resolve } from 'node:path';
import { ConfigError, type ConfigIssue } from '../errors.js';
import type { PipelineConfig } from './types.js';
import { readConfigFile, type ConfigSource } from './source-file.js';
import { applyOverrides, copyTree } from './overrides.js';
import { interpolate } from './interpolate.js';
import { parsePipeline } from './schema.js';
import { fromZodIssues } from './issues.js';
import { collectSecrets, redactMessage } from './secrets.js';
import type { Reference } from './interpolate.js';
import { formatPath, pathStartsWith, type PathSegment } from './key-path.js';

export interface LoadOptions {
  /** `key=value` overrides (`execution.workers=4`, `middleware[0].max_attempts=3`); values are YAML. */
  set?: readonly string[];
  /** Environment for `${env:NAME}` and the $SPARK_HOME default (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Directory relative paths resolve against (default: the config file's directory, or the cwd for an object). */
  baseDir?: string;
  /** Allow a config without `source` (rows are passed to runPipeline directly). */
  allowNoSource?: boolean;
}

export type ValidationResult = { ok: true; config: PipelineConfig } | { ok: false; issues: ConfigIssue[] };

/** Loads and validates a config file (.yaml/.yml/.json) or an already-parsed object. Throws ConfigError. */
export async function loadConfig(input: string | object, opts: LoadOptions = {}): Promise<PipelineConfig> {
  const r = await validateConfig(input, opts);
  if (!r.ok) throw new ConfigError(r.issues);
  return r.config;
}

/** Like loadConfig, but returns the issues instead of throwing (for `restlake validate`). */
export async function validateConfig(input: string | object, opts: LoadOptions = {}): Promise<ValidationResult> {
  const env = opts.env ?? process.env;
  let source: ConfigSource;
  let baseDir: string;
  let file: string | undefined;
  if (typeof input === 'string') {
    file = input;
    const abs = resolve(input);
    baseDir = opts.baseDir ? resolve(opts.baseDir) : dirname(abs);
    source = await readConfigFile(abs);
  } else {
    baseDir = resolve(opts.baseDir ?? process.cwd());
    source = { data: plainCopy(input), lineOf: () => undefined, issues: [] };
  }
  // An issue names the file when it points into it (a line) or is about the file itself;
  // an issue from --set has nothing to do with the file.
  const finish = (issues: ConfigIssue[], fileLevel = false): ValidationResult => ({
    ok: false,
    issues: issues.map((i) => (file && (fileLevel || i.line !== undefined) ? { ...i, file } : i)),
  });

  if (source.issues.length) {
    return finish(
      source.issues.map((i) => ({ path: formatPath(i.path), message: i.message, ...(i.line ? { line: i.line } : {}) })),
      true,
    );
  }
  if (source.data === null || typeof source.data !== 'object' || Array.isArray(source.data)) {
    const line = source.lineOf([]);
    const message = 'the config must be a mapping of keys (version, name, source, request, sink, ...)';
    return finish([{ path: '', message, ...(line ? { line } : {}) }], true);
  }

  const overrides = applyOverrides(source.data, opts.set ?? []);
  const interpolated = await interpolate(overrides.value, { env, baseDir });
  const context = { baseDir, env, allowNoSource: opts.allowNoSource ?? false };
  let parsed = parsePipeline(interpolated.value, context);
  if (!parsed.success) {
    // `workers: ${env:WORKERS}` is text after interpolation; where the schema refused
    // such a value and it reads as a number or boolean, it is given as one.
    const typed = typeRejectedReferences(interpolated.value, interpolated.references, parsed.error.issues);
    if (typed !== null) parsed = parsePipeline(typed, context);
  }
  const secrets = collectSecrets(interpolated.value, interpolated.references);

  const raw: { path: PathSegment[] | PropertyKey[]; message: string; fromSet?: boolean }[] = [
    ...overrides.issues.map((i) => ({ ...i, fromSet: true })),
    ...interpolated.issues,
  ];
  if (!parsed.success) {
    // A failed reference already explains the value at its path; don't pile a schema complaint on top.
    const explained = interpolated.issues.map((i) => formatPath(i.path));
    for (const i of fromZodIssues(parsed.error.issues)) if (!explained.includes(formatPath(i.path))) raw.push(i);
  }
  if (raw.length === 0 && parsed.success) {
    const config: PipelineConfig = { ...parsed.data, base_dir: baseDir, secrets };
    return { ok: true, config };
  }

  // Messages may echo a bad value; a value is never allowed to leak a secret or anything read from env/files.
  const quiet = interpolated.references.map((r) => r.value).filter((v) => v !== '' && !secrets.includes(v));
  const seen = new Set<string>();
  const issues: ConfigIssue[] = [];
  for (const i of raw) {
    // Issues about an overridden value point at the --set, not at the file line it replaced.
    // So are issues about a key only a --set brought in (`--set executon.workers=4` makes
    // an unknown key "executon" that has no line in the file).
    const underSet =
      i.path.length > 0 &&
      overrides.paths.some((p) => pathStartsWith(i.path, p) || (pathStartsWith(p, i.path) && valueAt(source.data, i.path) === undefined));
    const issue: ConfigIssue = {
      path: formatPath(i.path),
      message: redactMessage(i.message, secrets, quiet) + (underSet ? ' (from --set)' : ''),
      line: underSet || i.fromSet ? undefined : source.lineOf(i.path),
    };
    const k = `${issue.path}\u0000${issue.message}`;
    if (seen.has(k)) continue;
    seen.add(k);
    if (issue.line === undefined) delete issue.line;
    issues.push(issue);
  }
  // File order reads best; issues without a line (from --set or an object) keep their order, last.
  issues.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
  return finish(issues);
}

/**
 * A copy of `tree` in which each value the schema refused that is exactly one
 * reference's text and reads as a number or boolean is that number or boolean; null
 * when there is none. Only refused values change, so `client_id: ${env:ID}` stays text.
 */
function typeRejectedReferences(tree: unknown, references: readonly Reference[], issues: readonly { path: PropertyKey[] }[]): unknown {
  const refused = new Set(issues.map((i) => formatPath(i.path as PathSegment[])));
  const changes: { path: PathSegment[]; value: number | boolean }[] = [];
  for (const r of references) {
    if (!refused.has(formatPath(r.path)) || valueAt(tree, r.path) !== r.value) continue;
    const text = r.value.trim();
    if (/^-?\d+(\.\d+)?$/.test(text)) changes.push({ path: r.path, value: Number(text) });
    else if (text === 'true' || text === 'false') changes.push({ path: r.path, value: text === 'true' });
  }
  if (changes.length === 0) return null;
  const copy = copyTree(tree);
  for (const c of changes) {
    const parent = valueAt(copy, c.path.slice(0, -1)) as Record<PropertyKey, unknown>;
    parent[c.path[c.path.length - 1]] = c.value;
  }
  return copy;
}

/** The value at `path` in plain config data (own keys only), or undefined where there is none. */
function valueAt(tree: unknown, path: readonly PropertyKey[]): unknown {
  let v = tree;
  for (const seg of path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, seg)) return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

/** A deep copy of caller data, so normalising never mutates it (functions and class instances are rejected by the schema). */
function plainCopy(v: object): unknown {
  try {
    return structuredClone(v);
  } catch {
    return JSON.parse(JSON.stringify(v)) as unknown;
  }
}
