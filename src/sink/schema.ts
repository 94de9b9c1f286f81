// The sink table's columns (DESIGN §3), typed as Delta types, plus how each one is
// read back from a spooled result file. Source columns keep their source types.
import type { PipelineConfig } from '../config/types.js';
import { ConfigError } from '../errors.js';
import type { DeltaType, StructField, StructType } from '../delta/index.js';
import { LEADING_COLUMNS, OUTCOME_COLUMNS, RESERVED_SINK_COLUMNS, TIMING_COLUMNS, type SinkColumn } from './columns.js';
import { deltaTypeOfDuckDb } from './types.js';

/** A source column's name and DuckDB type, as DESCRIBE reports it. */
export interface SourceColumn {
  name: string;
  duckType: string;
}

const EXTRACT_TYPES: Record<string, DeltaType> = {
  string: 'string',
  long: 'long',
  double: 'double',
  boolean: 'boolean',
  json: 'string',
};

function field(name: string, type: DeltaType, nullable = true): StructField {
  return { name, type, nullable, metadata: {} };
}

/**
 * The sink schema for a pipeline. `sourceColumns` gives the types of the columns named
 * in `sink.source_columns`; a column the source lacks is a config error.
 */
export function sinkSchema(config: PipelineConfig, sourceColumns: readonly SourceColumn[]): StructType {
  const byName = new Map(sourceColumns.map((c) => [c.name, c]));
  const fixed = new Set<string>(RESERVED_SINK_COLUMNS);
  const issues: { path: string; message: string }[] = [];
  const copied: StructField[] = [];
  config.sink.source_columns.forEach((name, i) => {
    const col = byName.get(name);
    if (fixed.has(name)) issues.push({ path: `sink.source_columns[${i}]`, message: `"${name}" is a sink column name; rename it in the source` });
    else if (!col) issues.push({ path: `sink.source_columns[${i}]`, message: `the source has no column "${name}" (it has: ${[...byName.keys()].join(', ') || 'none'})` });
    else copied.push(field(name, deltaTypeOfDuckDb(col.duckType)));
  });
  const extract: StructField[] = [];
  for (const [name, spec] of Object.entries(config.response.extract)) {
    if (fixed.has(name) || config.sink.source_columns.includes(name)) issues.push({ path: `response.extract.${name}`, message: `"${name}" clashes with another sink column` });
    else extract.push(field(name, EXTRACT_TYPES[spec.type] ?? 'string'));
  }
  if (issues.length > 0) throw new ConfigError(issues);
  const own = (c: SinkColumn): StructField => field(c.name, c.type, c.nullable);
  return {
    type: 'struct',
    fields: [...LEADING_COLUMNS.map(own), ...copied, ...OUTCOME_COLUMNS.map(own), ...extract, ...TIMING_COLUMNS.map(own)],
  };
}

/** Source column types for rows given in memory: taken from the first non-null value of each column. */
export function inferSourceColumns(rows: readonly Record<string, unknown>[], names: readonly string[]): SourceColumn[] {
  return names.map((name) => {
    let duckType = 'VARCHAR';
    for (const r of rows) {
      const v = r[name];
      if (v === null || v === undefined) continue;
      if (typeof v === 'boolean') duckType = 'BOOLEAN';
      else if (typeof v === 'number') duckType = Number.isInteger(v) ? 'BIGINT' : 'DOUBLE';
      else if (typeof v === 'bigint') duckType = 'BIGINT';
      break;
    }
    return { name, duckType };
  });
}
