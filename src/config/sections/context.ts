// What schema transforms may know about the config being parsed, and helpers for
// cross-field checks. Building a schema and zod's compilation of it on first parse cost
// ~100x a parse, so schemas are built once per process; the values that depend on where
// a config lives (its directory, the environment) are read from the parse in progress.
// Parsing is synchronous, so exactly one parse is in progress while a transform runs.
import { accessSync, constants, statSync } from 'node:fs';
import { z } from 'zod';
import { resolvePath } from '../schema-parts.js';

export interface SchemaContext {
  /** Directory relative paths resolve against. */
  baseDir: string;
  env: NodeJS.ProcessEnv;
  /** Rows come from the caller (runPipeline with rows), so `source` may be absent. */
  allowNoSource: boolean;
}

let active: SchemaContext | null = null;

/** The context of the parse in progress. */
export function here(): SchemaContext {
  if (!active) throw new Error('the pipeline schema was used outside parsePipeline()');
  return active;
}

/** Runs a synchronous parse with `ctx` as the context. */
export function withSchemaContext<T>(ctx: SchemaContext, parse: () => T): T {
  active = ctx;
  try {
    return parse();
  } finally {
    active = null;
  }
}

/** A non-empty local path, made absolute against the config's directory (URLs kept). */
export const configPath = () =>
  z
    .string()
    .min(1)
    .transform((p) => resolvePath(here().baseDir, p));

/**
 * A local file the run reads when it starts (TLS material, a middleware module): it
 * must be there now, or the config would pass validation and every worker would then
 * fail to start.
 */
export const existingFilePath = () =>
  configPath().superRefine((p, c) => {
    const why = unreadableFile(p);
    if (why) c.addIssue({ code: 'custom', message: `cannot read ${p}: ${why}` });
  });

function unreadableFile(p: string): string | null {
  try {
    if (statSync(p).isDirectory()) return 'is a directory';
    accessSync(p, constants.R_OK);
    return null;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code ?? e);
  }
}

export type IssueSink = Pick<z.core.$RefinementCtx, 'addIssue'>;

// Cross-field checks run even when other fields of the same object failed, so one
// `validate` lists every problem rather than revealing them one fix at a time.
// They therefore get the value as parsed so far and must not trust its shape.
export const ALWAYS = { when: () => true };

export function asRecord(v: unknown): Record<string, unknown> | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}
