// source: where the rows come from.
import { z } from 'zod';
import type { SourceConfig } from '../types.js';
import { resolvePath, strictObject } from '../schema-parts.js';
import { detectSourceFormat } from '../source-format.js';
import { enumOf, positiveInt } from './common.js';
import { here } from './context.js';

export const SOURCE_FORMATS = ['parquet', 'csv', 'json', 'delta'] as const;

// A catalog table name: `table`, `schema.table` or `catalog.schema.table` (backticks allowed per part).
const TABLE_NAME = /^(?:[A-Za-z_][A-Za-z0-9_]*|`[^`]+`)(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|`[^`]+`)){0,2}$/;

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
})
  .transform((v, c): SourceConfig => {
    if ((v.path === undefined) === (v.table === undefined)) {
      c.addIssue({ code: 'custom', path: [], message: v.path === undefined ? 'needs `path` (a file, directory or table path) or `table` (a catalog table)' : 'give `path` or `table`, not both' });
      return z.NEVER;
    }
    const key = v.key === null ? null : Array.isArray(v.key) ? v.key : [v.key];
    if (v.table !== undefined) {
      // Spark reads the table by name; its format is the catalog's business.
      if (v.format !== undefined) {
        c.addIssue({ code: 'custom', path: ['format'], message: 'does not apply to a catalog `table` source' });
        return z.NEVER;
      }
      return { path: '', format: 'delta', key, limit: v.limit, table: v.table };
    }
    const abs = resolvePath(here().baseDir, v.path!);
    let format = v.format;
    if (!format) {
      const r = detectSourceFormat(abs);
      if (!r.ok) {
        c.addIssue({ code: 'custom', path: ['format'], message: r.message });
        return z.NEVER;
      }
      format = r.format;
    }
    const twice = key?.findIndex((k, i) => key.indexOf(k) !== i) ?? -1;
    if (twice >= 0) {
      c.addIssue({ code: 'custom', path: ['key', twice], message: `"${key![twice]}" is listed twice` });
      return z.NEVER;
    }
    return { path: abs, format, key, limit: v.limit };
  })
  .describe('Where the rows come from: one request per row.');
