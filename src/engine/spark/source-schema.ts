// CSV and JSON sources carry no types: each engine would infer its own (Spark reads the
// zip code 00123 as the number 123, where DuckDB keeps the text; Spark orders JSON
// columns by name, which changes the default key). So the driver sniffs the source with
// DuckDB, as the local engine reads it, and Spark reads it with that schema: the same
// values, column order and request_ids on both engines.
import type { PipelineConfig } from '../../config/types.js';
import { isS3Uri, type DeltaType } from '../../delta/index.js';
import { DuckDBInstance } from '../../duckdb.js';
import { deltaTypeOfDuckDb } from '../../sink/types.js';
import { describe, registerSource } from '../../source/relation.js';

// Delta's primitive type names to Spark SQL DDL. Anything else (nested JSON) is left to
// Spark's own inference.
const DDL_OF: Readonly<Record<string, string>> = {
  string: 'STRING',
  long: 'BIGINT',
  integer: 'INT',
  short: 'SMALLINT',
  byte: 'TINYINT',
  double: 'DOUBLE',
  float: 'FLOAT',
  boolean: 'BOOLEAN',
  // DuckDB detects a date or timestamp format ("13/02/2024") that Spark would have to be
  // told; given only the type, Spark reads such values as null. As text they keep what
  // the file says, the same text DuckDB renders for ISO values.
  date: 'STRING',
  timestamp: 'STRING',
  binary: 'BINARY',
};

function ddlType(t: DeltaType): string | null {
  if (typeof t !== 'string') return null;
  if (/^decimal\(\d+,\s*\d+\)$/.test(t)) return t.toUpperCase();
  return DDL_OF[t] ?? null;
}

/** A Spark DDL schema (`\`a\` STRING, \`b\` BIGINT`) for DuckDB columns, or null when one has no simple Spark type. */
export function sparkDdlOf(columns: readonly { name: string; duckType: string }[]): string | null {
  const parts: string[] = [];
  for (const c of columns) {
    const type = ddlType(deltaTypeOfDuckDb(c.duckType));
    if (type === null) return null;
    parts.push(`\`${c.name.replace(/`/g, '``')}\` ${type}`);
  }
  return parts.length ? parts.join(', ') : null;
}

/** The schema Spark should read a CSV or JSON source with; null for typed formats and catalog tables. */
export async function sniffSourceDdl(config: PipelineConfig): Promise<string | null> {
  const src = config.source;
  if (!src || src.table || (src.format !== 'csv' && src.format !== 'json')) return null;
  // On s3:// sniffing would download the files to this machine first: Spark infers there.
  if (isS3Uri(src.path)) return null;
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    return sparkDdlOf(await describe(conn, await registerSource(conn, src)));
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}
