// Writing partition values: the log string (PROTOCOL.md "Partition Value Serialization") and the
// Hive-style directory name Spark uses (col=value with Hive's escaping, null -> __HIVE_DEFAULT_PARTITION__).
import { DeltaError } from '../errors.js';
import { quoteIdent } from '../schema/duckdb-types.js';
import type { DeltaType } from '../schema/types.js';
import { parseDecimal } from '../schema/types.js';
import { HIVE_NULL } from '../scan/partition-values.js';

/** SQL producing the log string of a partition column value (NULL stays NULL; '' becomes NULL). */
export function partitionValueSql(col: string, type: DeltaType): string {
  const c = quoteIdent(col);
  switch (type) {
    case 'timestamp':
      // ISO-8601 adjusted to UTC: the form the spec recommends for modern writers.
      return `strftime(timezone('UTC', ${c}), '%Y-%m-%dT%H:%M:%S.%fZ')`;
    case 'timestamp_ntz':
      return `strftime(${c}, '%Y-%m-%d %H:%M:%S.%f')`;
    case 'date':
      return `strftime(${c}, '%Y-%m-%d')`;
    case 'string':
      return `NULLIF(${c}, '')`;
    case 'float': case 'double':
      // DuckDB prints nan/inf/-inf; Kernel parses with Double.parseDouble, which takes only Java's
      // spellings. Finite values (e.g. 1e+20) are fine as DuckDB prints them: Java accepts a signed exponent.
      return `CASE WHEN isnan(${c}) THEN 'NaN' WHEN isinf(${c}) THEN (CASE WHEN ${c} > 0 THEN 'Infinity' ELSE '-Infinity' END) ELSE CAST(${c} AS VARCHAR) END`;
    case 'long': case 'integer': case 'short': case 'byte': case 'boolean':
      return `CAST(${c} AS VARCHAR)`;
  }
  if (typeof type === 'string' && parseDecimal(type)) return `CAST(${c} AS VARCHAR)`;
  throw new DeltaError('DELTA_INVALID_ARGUMENT', `column ${col} of type ${JSON.stringify(type)} cannot be a partition column`);
}

const ESCAPE = new Set(['"', '#', '%', "'", '*', '/', ':', '=', '?', '\\', '\u007f', '{', '[', ']', '^']);

export function escapePathName(s: string): string {
  let out = '';
  for (const ch of s) {
    const code = ch.charCodeAt(0);
    if (ESCAPE.has(ch) || (code >= 0x01 && code <= 0x1f)) out += '%' + code.toString(16).toUpperCase().padStart(2, '0');
    else out += ch;
  }
  return out;
}

/** `a=1/b=x` for the given (ordered) partition columns. */
export function partitionDir(columns: string[], values: Record<string, string | null>): string {
  return columns.map((c) => `${escapePathName(c)}=${values[c] === null || values[c] === undefined ? HIVE_NULL : escapePathName(values[c]!)}`).join('/');
}
