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
import { csvOptions, csvRecordLines } from '../../source/csv-check.js';
import { jsonRecordLines } from '../../source/json-check.js';
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
  // DuckDB detects a date or timestamp format ("03/25/2024") that Spark would have to be
  // told, and Spark's reader has one format for all its date columns. So they are read
  // as text and parsed by an expression in the format DuckDB found (sparkCastsOf): a
  // DATE and a TIMESTAMP_NTZ, which render and hash as DuckDB's do.
  date: { ddl: 'STRING', cast: 'DATE' },
  timestamp: { ddl: 'STRING', cast: 'TIMESTAMP_NTZ' },
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

/** The strftime formats DuckDB read a CSV source's DATE and TIMESTAMP columns in (null: ISO 8601). */
export interface DateFormats {
  date: string | null;
  timestamp: string | null;
}

const ISO: DateFormats = { date: null, timestamp: null };

// The strftime specifiers DuckDB's CSV sniffer detects, as Spark datetime patterns, and
// the text (RE2) both engines parse alike for them: DuckDB's %m takes "3" and "03",
// which Spark's M takes and MM does not; a year is four digits (DuckDB's %Y also reads
// "24" as the year 24, Spark's yyyy does not).
const SPECIFIERS: Readonly<Record<string, { java: string; re: string; example: string }>> = {
  Y: { java: 'yyyy', re: '[0-9]{4}', example: '2024' },
  y: { java: 'yy', re: '[0-9]{2}', example: '24' },
  m: { java: 'M', re: '[0-9]{1,2}', example: '03' },
  d: { java: 'd', re: '[0-9]{1,2}', example: '25' },
  H: { java: 'H', re: '[0-9]{1,2}', example: '14' },
  I: { java: 'h', re: '[0-9]{1,2}', example: '02' },
  M: { java: 'm', re: '[0-9]{1,2}', example: '05' },
  S: { java: 's', re: '[0-9]{1,2}', example: '00' },
  p: { java: 'a', re: '(?i:AM|PM)', example: 'PM' },
};

/** A strftime format DuckDB detected, as Spark parses it: its pattern, the text both read alike (RE2), an example. */
export interface SparkDateForm {
  pattern: string;
  re: string;
  example: string;
  /** %y: DuckDB reads 69-99 as 19xx, Spark as 20xx. */
  twoDigitYear: boolean;
}

/** The Spark form of a strftime format, or null when it holds a specifier Spark cannot be told (or two numbers with nothing between). */
export function sparkDateFormOf(strftime: string): SparkDateForm | null {
  let pattern = '';
  let re = '';
  let example = '';
  let literal = '';
  let lastNumeric = false;
  const flush = (): void => {
    if (!literal) return;
    pattern += /^[^A-Za-z'[\]#{}]+$/.test(literal) ? literal : `'${literal.replace(/'/g, "''")}'`;
    literal = '';
  };
  for (let i = 0; i < strftime.length; i++) {
    const c = strftime[i] as string;
    if (c !== '%') {
      literal += c;
      re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      example += c;
      lastNumeric = false;
      continue;
    }
    const next = strftime[++i] ?? '';
    if (next === '%') {
      literal += '%';
      re += '%';
      example += '%';
      lastNumeric = false;
      continue;
    }
    const spec = SPECIFIERS[next];
    if (!spec) return null;
    const numeric = next !== 'p';
    if (numeric && lastNumeric) return null;
    flush();
    pattern += spec.java;
    re += spec.re;
    example += spec.example;
    lastNumeric = numeric;
  }
  flush();
  return { pattern, re, example, twoDigitYear: strftime.includes('%y') };
}

// ISO 8601 as both engines read it without a format (DuckDB's own parser, Spark's cast).
const ISO_FORMS: Readonly<Record<'date' | 'timestamp', { re: string; example: string }>> = {
  date: { re: '[0-9]{4}-[0-9]{2}-[0-9]{2}', example: '2024-03-25' },
  timestamp: { re: '[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\\.[0-9]{1,6})?)?)?', example: '2024-03-25 14:05:00' },
};

const sqlString = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** The Spark SQL expression parsing text column `ref` as DuckDB read a DATE or TIMESTAMP in `format`. */
function dateExpr(ref: string, kind: 'date' | 'timestamp', format: string | null): string {
  const form = format === null ? null : sparkDateFormOf(format);
  if (!form) return kind === 'date' ? `CAST(${ref} AS DATE)` : `CAST(${ref} AS TIMESTAMP_NTZ)`;
  const parsed = kind === 'date' ? `to_date(${ref}, ${sqlString(form.pattern)})` : `to_timestamp_ntz(${ref}, ${sqlString(form.pattern)})`;
  if (!form.twoDigitYear) return parsed;
  const back = kind === 'date' ? `add_months(${parsed}, -1200)` : `${parsed} - make_ym_interval(100, 0)`;
  return `CASE WHEN year(${parsed}) >= 2069 THEN ${back} ELSE ${parsed} END`;
}

/**
 * The columns Spark converts after reading them as sparkDdlOf says: name -> a Spark SQL
 * expression over the text column (a cast, or a date parsed in the format DuckDB found).
 */
export function sparkCastsOf(columns: readonly { name: string; duckType: string }[], formats: DateFormats = ISO): Record<string, string> {
  const casts: Record<string, string> = {};
  for (const c of columns) {
    const cast = readType(deltaTypeOfDuckDb(c.duckType))?.cast;
    if (!cast) continue;
    const ref = quoteName(c.name);
    if (c.duckType === 'DATE') casts[c.name] = dateExpr(ref, 'date', formats.date);
    else if (c.duckType === 'TIMESTAMP') casts[c.name] = dateExpr(ref, 'timestamp', formats.timestamp);
    // TIMESTAMP WITH TIME ZONE: DuckDB renders it in its own time zone; left as the file's text.
    else if (cast === 'BOOLEAN') casts[c.name] = `CAST(${ref} AS ${cast})`;
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
    const formats = dialect && files?.length ? await csvDateFormats(conn, src.path, files, columns, dialect, src.encoding) : ISO;
    if (ddl && files?.length) await refuseValueForms(conn, src.path, src.format, files, columns, formats, dialect, src.encoding);
    return { ddl, casts: ddl ? sparkCastsOf(columns, formats) : {}, dialect };
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/**
 * The date and timestamp formats DuckDB found in a CSV source's files (one per kind for
 * all of them, as Spark parses a column in one), for the kinds its columns hold. A
 * format Spark cannot be told, or files that disagree, are refused before Spark starts.
 */
async function csvDateFormats(
  conn: DuckDBConnection,
  path: string,
  files: readonly string[],
  columns: readonly { name: string; duckType: string }[],
  dialect: CsvDialect,
  encoding: string | undefined,
): Promise<DateFormats> {
  const kinds = (['date', 'timestamp'] as const).filter((k) => columns.some((c) => c.duckType === k.toUpperCase()));
  if (!kinds.length) return ISO;
  const found: Record<'date' | 'timestamp', { format: string | null; file: string } | null> = { date: null, timestamp: null };
  for (const file of files) {
    const r = await conn.runAndReadAll(`SELECT DateFormat, TimestampFormat FROM sniff_csv(${quoteLiteral(file)}, ${csvOptions(dialect, encoding)})`);
    const [date, timestamp] = (r.getRowsJson()[0] ?? [null, null]) as [string | null, string | null];
    for (const kind of kinds) {
      const format = kind === 'date' ? date : timestamp;
      const seen = found[kind];
      if (seen && format !== null && seen.format !== null && format !== seen.format) {
        throw new RunError('RESTLAKE_SOURCE', `cannot read source ${path} (csv) on Spark: its files write ${kind}s in different formats (${seen.file}: ${seen.format}; ${file}: ${format}), and Spark reads a column in one; the local engine reads it, or write them alike`);
      }
      if (!seen || seen.format === null) found[kind] = { format, file };
    }
  }
  for (const kind of kinds) {
    const format = found[kind]?.format ?? null;
    if (format !== null && !sparkDateFormOf(format)) {
      const names = columns.filter((c) => c.duckType === kind.toUpperCase()).map((c) => JSON.stringify(c.name));
      throw new RunError(
        'RESTLAKE_SOURCE',
        `cannot read source ${path} (csv) on Spark: ${found[kind]?.file} column ${names.join(', ')} holds ${kind}s in the format ${format}, which Spark cannot be told; the local engine reads it, or write them as ${ISO_FORMS[kind].example}`,
      );
    }
  }
  return { date: found.date?.format ?? null, timestamp: found.timestamp?.format ?? null };
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

// Past its sniff sample DuckDB's readers take forms Spark's refuse (FAILFAST aborts the
// job mid-run, after requests went out) or reads differently: ' 5', 0x1F, 1_000, 1e3 or
// 5.7 (DuckDB: 6) in an integer column, inf or nan in a double one; in JSON 5.0, 1e3 or
// "5" for an integer, "1.5" for a double; a date DuckDB's parser takes that Spark's
// pattern does not ("24" for %Y). So a source's number, date and timestamp columns are
// read once more as text and every value must be in a form both read alike.
type NumberFamily = 'integer' | 'float' | 'decimal';

function familyOf(duckType: string): NumberFamily | null {
  if (/^(BIGINT|INTEGER|SMALLINT|TINYINT)$/.test(duckType)) return 'integer';
  if (/^(DOUBLE|FLOAT|REAL)$/.test(duckType)) return 'float';
  if (/^DECIMAL\(/.test(duckType)) return 'decimal';
  return null;
}

/**
 * CSV text (RE2, matched whole) that Spark's CSV reader parses as DuckDB's does, per
 * family. Spark reads a double with Java's parser (Infinity, NaN, signed, spaces around)
 * or as its positiveInf/negativeInf words, exactly `Inf` and `-Inf`; pyspark 4.0.1
 * refuses `+Inf`, ` Inf`, `inf`, `INF` and `nan` (FAILFAST), which DuckDB reads.
 */
export const SPARK_CSV_NUMBER: Readonly<Record<NumberFamily, string>> = {
  integer: '[+-]?[0-9]+',
  float: '[ \\t]*[+-]?(?:(?:[0-9]+\\.?[0-9]*|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?|Infinity|NaN)[ \\t]*|-?Inf',
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

/** A column whose values are checked: the text (RE2) both engines read alike, or JSON value types, and what to write instead. */
interface ValueCheck {
  name: string;
  duckType: string;
  /** CSV: text matched whole; JSON: a string's text, when strings are allowed. */
  re: string | null;
  /** JSON: the json_type values allowed (NULL included). */
  jsonTypes: readonly string[];
  writeAs: string;
}

function checksOf(columns: readonly { name: string; duckType: string }[], format: 'csv' | 'json', formats: DateFormats): ValueCheck[] {
  const out: ValueCheck[] = [];
  for (const c of columns) {
    const family = familyOf(c.duckType);
    if (family) {
      out.push({ ...c, re: format === 'csv' ? SPARK_CSV_NUMBER[family] : null, jsonTypes: SPARK_JSON_NUMBER[family], writeAs: WRITE_AS[family][format] });
      continue;
    }
    const kind = c.duckType === 'DATE' ? 'date' : c.duckType === 'TIMESTAMP' ? 'timestamp' : null;
    if (!kind) continue;
    const strftime = format === 'csv' ? formats[kind] : null;
    const form = strftime === null ? null : sparkDateFormOf(strftime);
    const re = form ? form.re : ISO_FORMS[kind].re;
    const example = form ? form.example : ISO_FORMS[kind].example;
    const writeAs = form ? `${example} (${strftime}, as the file's first lines)` : `${format === 'json' ? 'a JSON string ' : ''}${example} (ISO 8601)`;
    out.push({ ...c, re, jsonTypes: ['VARCHAR', 'NULL'], writeAs });
  }
  return out;
}

const N = 'restlake_record';

/** SQL: whether a row of the text read (`json` for JSON) holds a value of `c` Spark reads otherwise, and the value shown. */
function badValueSql(c: ValueCheck, format: 'csv' | 'json'): { bad: string; value: string } {
  if (format === 'csv') {
    const value = quoteIdent(c.name);
    return { value, bad: `${value} IS NOT NULL AND NOT regexp_full_match(${value}, ${quoteLiteral(c.re as string)})` };
  }
  const pointer = quoteLiteral('/' + c.name.replace(/~/g, '~0').replace(/\//g, '~1'));
  const type = `coalesce(json_type(json, ${pointer}), 'NULL')`;
  const value = `json_extract(json, ${pointer})::VARCHAR`;
  let bad = `${type} NOT IN (${c.jsonTypes.map(quoteLiteral).join(', ')})`;
  if (c.re !== null) bad += ` OR (${type} = 'VARCHAR' AND NOT regexp_full_match(json_extract_string(json, ${pointer}), ${quoteLiteral(c.re)}))`;
  return { value, bad: `(${bad})` };
}

async function refuseValueForms(
  conn: DuckDBConnection,
  path: string,
  format: 'csv' | 'json',
  files: readonly string[],
  columns: readonly { name: string; duckType: string }[],
  formats: DateFormats,
  dialect: CsvDialect | null,
  encoding: string | undefined,
): Promise<void> {
  const checks = checksOf(columns, format, formats);
  if (!checks.length) return;
  const options = format === 'csv' ? `${csvOptions(dialect ?? { delim: ',', quote: '"' }, encoding)}, all_varchar = true` : '';
  const raw = (list: readonly string[]): string => {
    const files = '[' + list.map(quoteLiteral).join(', ') + ']';
    return format === 'csv' ? `read_csv(${files}, ${options}, union_by_name = true)` : `read_ndjson_objects(${files})`;
  };
  const bads = checks.map((c) => badValueSql(c, format));
  // One parallel pass counts the values of each column; only a source with some is read
  // again, a file at a time in one thread, so each value's record number is its order.
  const r = await conn.runAndReadAll(`SELECT ${bads.map((b) => `count(*) FILTER (WHERE ${b.bad})::DOUBLE`).join(', ')} FROM ${raw(files)}`);
  const counts = (r.getRowsJson()[0] as number[]).map(Number);
  const total = counts.reduce((a, b) => a + b, 0);
  if (!total) return;
  const shown: string[] = [];
  await conn.run('SET threads = 1');
  try {
    for (const [i, c] of checks.entries()) {
      if (!counts[i] || shown.length >= SHOWN_BAD_LINES) continue;
      const { bad, value } = bads[i] as { bad: string; value: string };
      const reason = `Spark reads this ${c.duckType} differently: write it as ${c.writeAs}`;
      for (const file of files) {
        const want = SHOWN_BAD_LINES - shown.length;
        if (want <= 0) break;
        const rows = (
          await conn.runAndReadAll(`SELECT ${N}, ${value} FROM (SELECT row_number() OVER () AS ${N}, * FROM ${raw([file])}) WHERE ${bad} ORDER BY ${N} LIMIT ${want}`)
        ).getRowsJson() as [string, string][];
        if (!rows.length) continue;
        const lines = format === 'csv' ? await csvRecordLines(file, dialect?.quote ?? '"', encoding, rows.map((x) => Number(x[0]))) : await jsonRecordLines(file, rows.map((x) => Number(x[0])));
        for (const [n, v] of rows) shown.push(`${file} line ${lines.get(Number(n)) ?? '?'} column ${JSON.stringify(c.name)}: ${reason}: ${JSON.stringify(v)}`);
      }
    }
  } finally {
    await conn.run('RESET threads');
  }
  const what = total === 1 ? '1 value' : `${total} values`;
  throw listedSourceError(
    `cannot read source ${path} (${format}) on Spark: ${what} Spark reads differently from DuckDB; nothing was sent`,
    shown,
    total,
    'the local engine reads these values as they are',
  );
}
