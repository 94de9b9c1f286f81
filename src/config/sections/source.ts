// source: where the rows come from.
import { z } from 'zod';
import type { SourceConfig, SourceEncoding } from '../types.js';
import { resolvePath, strictObject } from '../schema-parts.js';
import { detectSourceFormat } from '../source-format.js';
import { enumOf, positiveInt } from './common.js';
import { ALWAYS, asRecord, here, type IssueSink } from './context.js';

export const SOURCE_FORMATS = ['parquet', 'csv', 'json', 'delta'] as const;
// What DuckDB's CSV reader decodes without its `encodings` extension (which would be a
// download at run time); Spark's csv reader knows each of them too.
export const SOURCE_ENCODINGS = ['utf-8', 'utf-16', 'latin-1'] as const satisfies readonly SourceEncoding[];

// A catalog table name: `table`, `schema.table` or `catalog.schema.table` (backticks allowed per part).
const TABLE_NAME = /^(?:[A-Za-z_][A-Za-z0-9_]*|`[^`]+`)(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|`[^`]+`)){0,2}$/;

// JSON lines are UTF-8 by definition (RFC 8259), Parquet and Delta store their own.
const encodingMisfit = (format: string): string => `applies to csv sources only; a ${format} source's encoding is fixed by its format`;

/**
 * The cross-field rules, run even when a field failed (ALWAYS), so one `validate`
 * lists every problem of the block; the value may therefore be only partly valid.
 */
function checkSource(value: unknown, c: IssueSink): void {
  const v = asRecord(value);
  if (!v) return;
  if ((v.path === undefined) === (v.table === undefined)) {
    c.addIssue({ code: 'custom', path: [], message: v.path === undefined ? 'needs `path` (a file, directory or table path) or `table` (a catalog table)' : 'give `path` or `table`, not both' });
  } else if (v.table !== undefined && v.format !== undefined) {
    c.addIssue({ code: 'custom', path: ['format'], message: 'does not apply to a catalog `table` source' });
  } else if (typeof v.path === 'string' && v.path !== '' && v.format === undefined) {
    const r = detectSourceFormat(resolvePath(here().baseDir, v.path));
    if (!r.ok) c.addIssue({ code: 'custom', path: ['format'], message: r.message });
    else if (v.encoding !== undefined && r.format !== 'csv') c.addIssue({ code: 'custom', path: ['encoding'], message: encodingMisfit(r.format) });
  } else if (v.encoding !== undefined && typeof v.format === 'string' && v.format !== 'csv') {
    c.addIssue({ code: 'custom', path: ['encoding'], message: encodingMisfit(v.format) });
  }
  if (v.table !== undefined && v.encoding !== undefined) c.addIssue({ code: 'custom', path: ['encoding'], message: 'does not apply to a catalog `table` source' });
  const key = Array.isArray(v.key) ? v.key : [];
  const twice = key.findIndex((k, i) => typeof k === 'string' && key.indexOf(k) !== i);
  if (twice >= 0) c.addIssue({ code: 'custom', path: ['key', twice], message: `${JSON.stringify(key[twice])} is listed twice` });
}

export const source = strictObject({
  path: z.string().min(1).optional().describe('File, glob, directory or Delta table directory; s3://bucket/key too. Relative to the config file. Give this or `table`.'),
  table: z
    .string()
    .regex(TABLE_NAME, { error: (iss) => `${JSON.stringify(iss.input)} is not a table name; expected table, schema.table or catalog.schema.table` })
    .optional()
    .describe('A catalog table (catalog.schema.table) to read instead of `path`; engine: spark only.'),
  format: enumOf(SOURCE_FORMATS, 'source format')
    .optional()
    .describe('parquet | csv | json (newline-delimited) | delta. Default: from the extension, or delta for a directory with _delta_log.'),
  key: z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
    .nullable()
    .default(null)
    .describe('Column(s) that identify a request (they make the request_id). Default: all columns.'),
  limit: positiveInt().nullable().default(null).describe('Read at most this many rows.'),
  encoding: enumOf(SOURCE_ENCODINGS, 'source encoding')
    .optional()
    .describe('csv only: utf-8 (default) | utf-16 | latin-1 (ISO-8859-1, e.g. Excel or SAP exports). How the file is decoded, by both engines.'),
})
  .superRefine(checkSource, ALWAYS)
  .transform((v): SourceConfig => {
    const key = v.key === null ? null : Array.isArray(v.key) ? v.key : [v.key];
    // Spark reads a catalog table by name; its format is the catalog's business.
    if (v.table !== undefined) return { path: '', format: 'delta', key, limit: v.limit, table: v.table };
    const abs = resolvePath(here().baseDir, v.path!);
    // A format that cannot be told was an issue in checkSource, and the parse fails.
    const detected = v.format ? null : detectSourceFormat(abs);
    const out: SourceConfig = { path: abs, format: v.format ?? (detected?.ok ? detected.format : 'parquet'), key, limit: v.limit };
    if (v.encoding !== undefined) out.encoding = v.encoding;
    return out;
  })
  .describe('Where the rows come from: one request per row.');
