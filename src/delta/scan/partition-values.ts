// Partition values (PROTOCOL.md "Partition Value Serialization") -> canonical strings that a single
// SQL cast per column turns into the typed value. Empty string, null and Hive's null marker are null.
import { DeltaError } from '../errors.js';
import { type DeltaType, parseDecimal } from '../schema/types.js';
import { toDuckDbType } from '../schema/duckdb-types.js';

export const HIVE_NULL = '__HIVE_DEFAULT_PARTITION__';

/** The canonical string to store for one raw partition value (null stays null). */
export function canonicalPartitionString(raw: string | null | undefined, type: DeltaType, column: string): string | null {
  if (raw === null || raw === undefined || raw === '' || raw === HIVE_NULL) return null;
  switch (type) {
    case 'timestamp':
      // "yyyy-MM-dd HH:mm:ss[.SSSSSS]" is wall time of the writer's zone; we take UTC (what Spark writes
      // with the default UTC session and what restlake writes). ISO-8601 with Z/offset is an instant.
      return /(?:Z|[+-]\d{2}(?::?\d{2})?)$/.test(raw) ? raw : `${raw}+00`;
    case 'binary':
      return Buffer.from(raw, 'latin1').toString('hex');
    case 'string': case 'long': case 'integer': case 'short': case 'byte': case 'float': case 'double': case 'boolean':
    case 'date': case 'timestamp_ntz':
      return raw;
  }
  if (typeof type === 'string' && parseDecimal(type)) return raw;
  throw new DeltaError('DELTA_UNSUPPORTED_FEATURE', `partition column ${column} has type ${JSON.stringify(type)}, which cannot be a partition type`);
}

/** SQL that turns the canonical VARCHAR column `col` into the Delta type. */
export function partitionCastSql(colSql: string, type: DeltaType): string {
  if (type === 'binary') return `from_hex(${colSql})`;
  return `CAST(${colSql} AS ${toDuckDbType(type)})`;
}

