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
import type { CsvDialect } from '../../source/csv-check.js';
import { RunError } from '../../errors.js';
import { quoteIdent, quoteLiteral } from '../../delta/schema/duckdb-types.js';
import { listedSourceError, SHOWN_BAD_LINES } from '../../source/bad-lines.js';
import { csvOptions } from '../../source/csv-check.js';
import type { DuckDBConnection } from '@duckdb/node-api';

// Delta's primitive type names to what Spark reads a CSV or JSON source with: `ddl`,
// the type handed to its reader, and `cast`, a Spark SQL type the column is then cast
// to. A type goes to the reader only when Spark's parser reads every value DuckDB
// accepted for it as DuckDB did; anything else (nested JSON) is left to Spark's own
// inference.
export const SPARK_READ_OF: Readonly<Record<string, { ddl: string; cast?: string }>> = {
  string: { ddl: 'STRING' },
  long: { ddl: 'BIGINT' },
  integer: { ddl: 'INT' },
  short: { ddl: 'SMALLINT' },
  byte: { ddl: 'TINYINT' },
  double: { ddl: 'DOUBLE' },
  float: { ddl: 'FLOAT' },
  // DuckDB sniffs t/f (and reads y/n, yes/no, 1/0, any case) as BOOLEAN; Spark's CSV
  // parser takes only true/false (FAILFAST aborts the job on 't'; before, nulls), and
  // its JSON parser only the tokens. Spark's cast from text takes exactly DuckDB's set.
  boolean: { ddl: 'STRING', cast: 'BOOLEAN' },
  // DuckDB detects a date or timestamp format ("13/02/2024") that Spark would have to be
  // told; given only the type, Spark reads such values as null. As text they keep what
  // the file says, the same text DuckDB renders for ISO values.
  date: { ddl: 'STRING' },
  timestamp: { ddl: 'STRING' },
  binary: { ddl: 'BINARY' },
};

function readType(t: DeltaType): { ddl: string; cast?: string } | null {
  if (typeof t !== 'string') return null;
  if (/^decimal\(\d+,\s*\d+\)$/.test(t)) return { ddl: t.toUpperCase() };
  return SPARK_READ_OF[t] ?? null;
}

const quoteName = (name: string): string => `\`${name.replace(/`/g, '``')}\``;

/** A Spark DDL schema (`\`a\` STRING, \`b\` BIGINT`) for DuckDB columns, or null when one has no simple Spark type. */
export function sparkDdlOf(columns: readonly { name: string; duckType: string }[]): string | null {
  const parts: string[] = [];
  for (const c of columns) {
    const type = readType(deltaTypeOfDuckDb(c.duckType));
    if (type === null) return null;
    parts.push(`${quoteName(c.name)} ${type.ddl}`);
  }
  return parts.length ? parts.join(', ') : null;
}

/** The columns Spark casts after reading them as sparkDdlOf says (name -> Spark SQL type). */
export function sparkCastsOf(columns: readonly { name: string; duckType: string }[]): Record<string, string> {
  const casts: Record<string, string> = {};
  for (const c of columns) {
    const cast = readType(deltaTypeOfDuckDb(c.duckType))?.cast;
    if (cast) casts[c.name] = cast;
  }
  return casts;
}

export interface SniffedSource {
  /** The DDL Spark reads the source with, or null to let Spark infer. */
  ddl: string | null;
  /** Columns Spark casts after reading (sparkCastsOf); empty without a DDL. */
  casts: Record<string, string>;
  /** A CSV source's dialect (one for all its files), or null. */
  dialect: CsvDialect | null;
}

/**
 * The schema (and CSV dialect) Spark should read a local CSV or JSON source with; null
 * for typed formats, catalog tables and s3://. Reading it here also checks its lines,
 * as the local engine does: a source with a line that cannot be read is refused (a
 * RunError naming the lines) before Spark starts, so no request goes out for it.
 */
export async function sniffSource(config: PipelineConfig): Promise<SniffedSource | null> {
  const src = config.source;
  if (!src || src.table || (src.format !== 'csv' && src.format !== 'json')) return null;
  // On s3:// sniffing would download the files to this machine first: Spark infers
  // there, in FAILFAST mode (plan.ts), so a bad line still stops the job.
  if (isS3Uri(src.path)) return null;
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const { relation, csv, files } = await registerSource(conn, src);
    const columns = await describe(conn, relation);
    const ddl = sparkDdlOf(columns);
    const dialect = csv ? oneDialect(src.path, csv) : null;
    if (ddl && files?.length) await refuseNumberForms(conn, src.path, src.format, files, columns, dialect, src.encoding);
    return { ddl, casts: ddl ? sparkCastsOf(columns) : {}, dialect };
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/** Spark reads every file of a source with one set of options. */
function oneDialect(path: string, dialects: readonly CsvDialect[]): CsvDialect | null {
  const first = dialects[0];
  if (!first) return null;
  const other = dialects.find((d) => d.delim !== first.delim || d.quote !== first.quote);
  if (other) {
    const show = (d: CsvDialect) => `delimiter ${JSON.stringify(d.delim)}, quote ${JSON.stringify(d.quote)}`;
    throw new RunError('RESTLAKE_SOURCE', `cannot read source ${path} (csv) on Spark: its files mix CSV dialects (${show(first)}; ${show(other)}), and Spark reads a source in one; the local engine reads it, or split the files`);
  }
  return first;
}

// Past its sniff sample DuckDB's readers take number forms Spark's refuse (FAILFAST
// aborts the job mid-run, after requests went out) or reads differently: ' 5', 0x1F,
// 1_000, 1e3 or 5.7 (DuckDB: 6) in an integer column, inf or nan in a double one; in
// JSON 5.0, 1e3 or "5" for an integer, "1.5" for a double. So a source's number columns
// are read once more as text and every value must be in a form both read alike.
type NumberFamily = 'integer' | 'float' | 'decimal';

function familyOf(duckType: string): NumberFamily | null {
  if (/^(BIGINT|INTEGER|SMALLINT|TINYINT)$/.test(duckType)) return 'integer';
  if (/^(DOUBLE|FLOAT|REAL)$/.test(duckType)) return 'float';
  if (/^DECIMAL\(/.test(duckType)) return 'decimal';
  return null;
}

/** CSV text (RE2, matched whole) that Spark's CSV reader parses as DuckDB's does, per family. */
export const SPARK_CSV_NUMBER: Readonly<Record<NumberFamily, string>> = {
  integer: '[+-]?[0-9]+',
  float: '[ \\t]*[+-]?(?:(?:[0-9]+\\.?[0-9]*|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?|Infinity|NaN)[ \\t]*',
  decimal: '[+-]?(?:[0-9]+\\.?[0-9]*|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?',
};

/** JSON value types (DuckDB's json_type) Spark's JSON reader reads as DuckDB's does, per family. */
const SPARK_JSON_NUMBER: Readonly<Record<NumberFamily, readonly string[]>> = {
  integer: ['BIGINT', 'UBIGINT', 'NULL'],
  float: ['BIGINT', 'UBIGINT', 'DOUBLE', 'NULL'],
  decimal: ['BIGINT', 'UBIGINT', 'DOUBLE', 'NULL'],
};

const WRITE_AS: Readonly<Record<NumberFamily, { csv: string; json: string }>> = {
  integer: { csv: 'digits with an optional sign (1000, -5)', json: 'a JSON integer (1000, -5)' },
  float: { csv: 'a decimal number (1.5, -2e3, NaN, Infinity)', json: 'a JSON number (1.5, -2e3)' },
  decimal: { csv: 'a decimal number without spaces (1.50, -2)', json: 'a JSON number (1.50, -2)' },
};

async function refuseNumberForms(
  conn: DuckDBConnection,
  path: string,
  format: 'csv' | 'json',
  files: readonly string[],
  columns: readonly { name: string; duckType: string }[],
  dialect: CsvDialect | null,
  encoding: string | undefined,
): Promise<void> {
  const checked = columns.map((c) => ({ ...c, family: familyOf(c.duckType) })).filter((c) => c.family !== null);
  if (!checked.length) return;
  const list = '[' + files.map(quoteLiteral).join(', ') + ']';
  const FILE = 'restlake_file';
  const raw =
    format === 'csv'
      ? `read_csv(${list}, ${csvOptions(dialect ?? { delim: ',', quote: '"' }, encoding)}, union_by_name = true, all_varchar = true, filename = '${FILE}')`
      : `read_ndjson_objects(${list}, filename = '${FILE}')`;
  const shown: string[] = [];
  let total = 0;
  for (const c of checked) {
    const family = c.family as NumberFamily;
    let value: string;
    let bad: string;
    if (format === 'csv') {
      value = quoteIdent(c.name);
      bad = `${value} IS NOT NULL AND NOT regexp_full_match(${value}, ${quoteLiteral(SPARK_CSV_NUMBER[family])})`;
    } else {
      const pointer = quoteLiteral('/' + c.name.replace(/~/g, '~0').replace(/\//g, '~1'));
      value = `json_extract(json, ${pointer})::VARCHAR`;
      bad = `coalesce(json_type(json, ${pointer}), 'NULL') NOT IN (${SPARK_JSON_NUMBER[family].map(quoteLiteral).join(', ')})`;
    }
    const r = await conn.runAndReadAll(`SELECT ${FILE}, ${value}, count(*) OVER ()::DOUBLE FROM ${raw} WHERE ${bad} LIMIT ${SHOWN_BAD_LINES}`);
    const rows = r.getRowsJson() as [string, string, number][];
    if (!rows.length) continue;
    total += Number(rows[0]?.[2]);
    const reason = `Spark reads this ${c.duckType} differently: write it as ${WRITE_AS[family][format]}`;
    for (const [file, v] of rows) shown.push(`${file} column ${JSON.stringify(c.name)}: ${reason}: ${JSON.stringify(v)}`);
  }
  if (!total) return;
  const what = total === 1 ? '1 value' : `${total} values`;
  throw listedSourceError(
    `cannot read source ${path} (${format}) on Spark: ${what} Spark reads differently from DuckDB; nothing was sent`,
    shown,
    total,
    'the local engine reads these values as they are',
  );
}
