// sink: the Delta table results land in, and which columns it gets.
import { z } from 'zod';
import { headerName, resolvePath, strictObject } from '../schema-parts.js';
import { enumOf } from './common.js';
import { asRecord, here, type IssueSink } from './context.js';

/** Columns every sink row has; source_columns and extract names must not reuse them. */
export { RESERVED_SINK_COLUMNS } from '../../sink/columns.js';
import { RESERVED_SINK_COLUMNS } from '../../sink/columns.js';

export const sink = strictObject({
  path: z.string().min(1).describe('Delta table directory (relative to the config file) or s3://bucket/prefix.'),
  mode: enumOf(['append', 'overwrite'] as const, 'sink mode').default('append').describe('append | overwrite (the run\'s first commit replaces the table, schema included)'),
  source_columns: z.array(z.string().min(1)).default([]).describe('Source columns copied into every result row.'),
  redact_headers: z.array(headerName).default([]).describe('Header names to redact besides Authorization and cookies.'),
})
  .transform((v) => ({ ...v, path: resolvePath(here().baseDir, v.path) }))
  .describe('The Delta table results land in.');

/** Sink column names must be unique: reserved columns, copied source columns and extract names. */
export function checkColumnNames(value: unknown, c: IssueSink): void {
  const v = asRecord(value);
  // A catalog table is read by Spark; the local engine has no catalog to ask.
  const table = asRecord(v?.source)?.table;
  if (typeof table === 'string' && asRecord(v?.execution)?.engine !== 'spark') {
    c.addIssue({ code: 'custom', path: ['source', 'table'], message: 'a catalog table source needs execution.engine: spark (the local engine reads paths)' });
  }
  const sink = asRecord(v?.sink);
  const extract = asRecord(asRecord(v?.response)?.extract);
  const reserved = new Set<string>(RESERVED_SINK_COLUMNS);
  const seen = new Set<string>();
  const cols = Array.isArray(sink?.source_columns) ? sink.source_columns : [];
  cols.forEach((col, i) => {
    if (typeof col !== 'string') return;
    if (reserved.has(col)) c.addIssue({ code: 'custom', path: ['sink', 'source_columns', i], message: `"${col}" is a column restlake writes itself; it cannot be copied from the source` });
    else if (seen.has(col)) c.addIssue({ code: 'custom', path: ['sink', 'source_columns', i], message: `"${col}" is listed twice` });
    seen.add(col);
  });
  for (const name of Object.keys(extract ?? {})) {
    if (reserved.has(name)) c.addIssue({ code: 'custom', path: ['response', 'extract', name], message: `"${name}" is a column restlake writes itself; pick another name` });
    else if (seen.has(name)) c.addIssue({ code: 'custom', path: ['response', 'extract', name], message: `"${name}" is also a source column in sink.source_columns; pick another name` });
  }
}

/**
 * The sink must be a table of its own: on the source's path (or inside it, or around
 * it) mode overwrite would replace the very rows being read, and append would mix
 * results into them.
 */
export function checkSinkApartFromSource(value: unknown, c: IssueSink): void {
  const v = asRecord(value);
  const sinkPath = asRecord(v?.sink)?.path;
  const sourcePath = asRecord(v?.source)?.path;
  if (typeof sinkPath !== 'string' || typeof sourcePath !== 'string' || !sinkPath || !sourcePath) return;
  const sinkAt = comparable(sinkPath);
  const wildcard = /[*?[{]/.exec(sourcePath);
  // A glob reads files in the directory of its first wildcard (deeper only with **).
  const sourceAt = comparable(wildcard ? sourcePath.slice(0, sourcePath.lastIndexOf('/', wildcard.index) + 1) || '.' : sourcePath);
  const deep = !wildcard || sourcePath.includes('**');
  let where: string | null = null;
  if (sinkAt === sourceAt) where = wildcard ? 'is the directory the source reads' : 'is the source table';
  else if (sourceAt.startsWith(sinkAt + '/')) where = 'contains the source';
  else if (deep && sinkAt.startsWith(sourceAt + '/')) where = 'is inside the source';
  if (where) {
    c.addIssue({ code: 'custom', path: ['sink', 'path'], message: `${where} (${resolvePath(here().baseDir, sourcePath)}); results need a table of their own, or mode overwrite would replace the rows being read` });
  }
}

/** A path made absolute, without a trailing slash, for comparing where two paths point. */
function comparable(p: string): string {
  return resolvePath(here().baseDir, p).replace(/\/+$/, '');
}
