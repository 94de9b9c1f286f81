// Reading a CSV source that is not clean. DuckDB's strict reader is the wrong first
// step for one: a line with a field too many makes its sniffer give up ("Error when
// sniffing file") or fall back to one column named after the whole header ("id,name"),
// and broken quoting makes it read with no quote character at all, keeping the quotes
// in the values. So each file is checked first, with the tools DuckDB has for this:
//   1. sniff_csv(ignore_errors) finds the dialect from the lines that fit it;
//   2. a scan with store_rejects (which skips and records bad lines) counts the rows
//      in that dialect and casts every column, so a value the sniffed type cannot hold
//      (line 30,000's "abc" in a number column) is found now, not mid-run;
//   3. a line with one field too many that is empty (`2,b,` under `id,name`) is no
//      reject to DuckDB, which drops a trailing delimiter; its strict reader then
//      fails to sniff the file ("Error when sniffing file"), and Spark refuses the
//      line. DuckDB lists the lines that end with the delimiter (cheap, and none in
//      most files); only when one may be such a line is the file read here to find
//      them, quotes and all;
//   4. any such or rejected line stops the run, named (file, line, reason, text).
// The scan is the row count the local engine needs anyway: a clean file costs the
// casts on top of a count, no second pass. The rows themselves are then read with the
// strict reader in the checked dialect, so a line can never be silently dropped.
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteLiteral } from '../delta/schema/duckdb-types.js';
import { firstLine, RunError } from '../errors.js';
import { badLinesError, SHOWN_BAD_LINES, type BadLine } from './bad-lines.js';
import { decoderLabel, encodingOption, linesRelation, textOf, utf16ByteOrder } from './lines.js';

export interface CsvDialect {
  delim: string;
  quote: string;
}

export interface CheckedCsv {
  /** Data rows of all files (no header lines). */
  rows: number;
  /** Each file's dialect, in file order. */
  dialects: CsvDialect[];
}

const REJECTS = 'restlake_csv_rejects';
const REJECT_SCANS = 'restlake_csv_reject_scans';
const DELIMITERS = [',', ';', '\t', '|'];

/** read_csv options every read of a file shares (check and rows alike). */
export function csvOptions(dialect: CsvDialect, encoding: string | undefined): string {
  return `header = true, delim = ${quoteLiteral(dialect.delim)}, quote = ${quoteLiteral(dialect.quote)}${encodingOption(encoding)}`;
}

async function sniff(conn: DuckDBConnection, file: string, encoding: string | undefined): Promise<{ dialect: CsvDialect; names: string[] }> {
  const r = await conn.runAndReadAll(`SELECT Delimiter, Quote, Columns FROM sniff_csv(${quoteLiteral(file)}, header = true, ignore_errors = true${encodingOption(encoding)})`);
  const [delim, quote, columns] = r.getRowsJson()[0] as [string, string, { name: string }[]];
  const names = columns.map((c) => c.name);
  // No quote found: the sample had none, or only broken ones. Either way the file is
  // read as RFC 4180 says (double quotes), so a quoted field further down is one field
  // and a broken quote is an error, not text.
  const dialect = { delim, quote: quote === '(empty)' ? '"' : quote };
  // Still one column, named like "id,name": the sniffer found no delimiter that fits
  // enough lines. The header says which one the file meant; the scan then shows the lines.
  if (names.length === 1) {
    const counts = DELIMITERS.map((d) => (names[0] as string).split(d).length - 1);
    const best = counts.indexOf(Math.max(...counts));
    if ((counts[best] as number) > 0) {
      dialect.delim = DELIMITERS[best] as string;
      names.splice(0, 1, ...(names[0] as string).split(dialect.delim));
    }
  }
  return { dialect, names };
}

/** A line's reason, in words for the person who has to fix the file. */
function reasonOf(type: string, column: string | null, message: string): string {
  const m = /Expected Number of Columns: (\d+) Found: (\d+)/.exec(message);
  if (m && (type === 'TOO MANY COLUMNS' || type === 'MISSING COLUMNS')) return `${m[2]} fields where the header has ${m[1]}`;
  if (type === 'UNQUOTED VALUE') return 'a quoted field is not closed, or text follows its closing quote';
  if (type === 'INVALID ENCODING') return 'not valid in the encoding read';
  const cast = /Could not convert string "(.*)" to '(.*)'/.exec(message);
  if (type === 'CAST' && cast) return `column "${column}" holds "${cast[1]}", not the ${cast[2]} its first lines show`;
  if (type === 'LINE SIZE OVER MAXIMUM') return 'longer than DuckDB reads a line (an unclosed quote?)';
  return message;
}

async function readRejects(conn: DuckDBConnection, file: string, name: string): Promise<{ shown: BadLine[]; total: number; types: Set<string> }> {
  const r = await conn.runAndReadAll(
    `SELECT line::DOUBLE, error_type::VARCHAR, column_name, csv_line, error_message, count(*) OVER ()::DOUBLE FROM ${REJECTS} ORDER BY line LIMIT ${SHOWN_BAD_LINES}`,
  );
  const rows = r.getRowsJson() as [number, string, string | null, string, string, number][];
  const all = await conn.runAndReadAll(`SELECT DISTINCT error_type::VARCHAR FROM ${REJECTS}`);
  await dropRejects(conn);
  return {
    shown: rows.map(([line, type, column, text, message]) => ({ file: name, line: Number(line), reason: reasonOf(type, column, message), text })),
    total: Number(rows[0]?.[5] ?? 0),
    types: new Set((all.getRowsJson() as [string][]).map((x) => x[0])),
  };
}

async function dropRejects(conn: DuckDBConnection): Promise<void> {
  await conn.run(`DROP TABLE IF EXISTS ${REJECTS}; DROP TABLE IF EXISTS ${REJECT_SCANS}`);
}

const STORE = `store_rejects = true, rejects_table = ${quoteLiteral(REJECTS)}, rejects_scan = ${quoteLiteral(REJECT_SCANS)}`;

/** Counts one file's rows in `dialect`, recording bad lines; a sample too broken to sniff falls back to a structure-only scan. */
async function scan(conn: DuckDBConnection, file: string, dialect: CsvDialect, names: string[], encoding: string | undefined): Promise<number> {
  try {
    const r = await conn.runAndReadAll(
      `SELECT count(*)::DOUBLE, count(COLUMNS(*)) FROM read_csv(${quoteLiteral(file)}, ${csvOptions(dialect, encoding)}, ${STORE})`,
    );
    return Number((r.getRows()[0] as unknown[])[0]);
  } catch (e) {
    if (!/sniffing file/.test((e as Error).message)) throw e;
  }
  // The types cannot be sniffed in this dialect (broken quoting in the sample): every
  // column as text, to find the lines that break it.
  await dropRejects(conn);
  const columns = '{' + names.map((n) => `${quoteLiteral(n)}: 'VARCHAR'`).join(', ') + '}';
  const r = await conn.runAndReadAll(
    `SELECT count(*)::DOUBLE FROM read_csv(${quoteLiteral(file)}, ${csvOptions(dialect, encoding)}, auto_detect = false, escape = ${quoteLiteral(dialect.quote)}, columns = ${columns}, ${STORE})`,
  );
  return Number((r.getRows()[0] as unknown[])[0]);
}

/**
 * The lines of `file` with one field more than the header's `columns`, that one
 * empty: DuckDB reads them without a word (it drops a delimiter at the end of a line).
 */
async function trailingFieldLines(conn: DuckDBConnection, file: string, name: string, dialect: CsvDialect, columns: number, encoding: string | undefined): Promise<{ shown: BadLine[]; total: number }> {
  const { delim, quote } = dialect;
  const d = quoteLiteral(delim);
  let maybe = true;
  try {
    // A line without quotes is such a line exactly when it ends with the delimiter and
    // holds `columns` of them; a line with quotes needs reading to tell.
    const r = await conn.runAndReadAll(
      `SELECT count(*)::DOUBLE FROM ${linesRelation(file, encoding)} WHERE ends_with(l, ${d}) AND (contains(l, ${quoteLiteral(quote)}) OR length(l) - length(replace(l, ${d}, '')) = ${columns * delim.length})`,
    );
    maybe = Number((r.getRows()[0] as unknown[])[0]) > 0;
  } catch {
    // A line DuckDB cannot read as one value: the scan below tells.
  }
  if (!maybe) return { shown: [], total: 0 };
  const shown: BadLine[] = [];
  let total = 0;
  let line = 1;
  let start = 1;
  let record = '';
  let fields = 0;
  let lastEmpty = true;
  let inQuote = false;
  let header = true;
  const end = (): void => {
    if (!header && fields === columns + 1 && lastEmpty) {
      total++;
      if (shown.length < SHOWN_BAD_LINES) {
        shown.push({ file: name, line: start, reason: `${columns + 1} fields where the header has ${columns} (the last one empty: the line ends with a delimiter)`, text: record });
      }
    }
    header = false;
    record = '';
    fields = 0;
    lastEmpty = true;
  };
  for await (const text of textOf(file, await decoderLabel(file, encoding))) {
    for (let i = 0; i < text.length; i++) {
      const c = text[i] as string;
      if (c === '\n') {
        line++;
        if (!inQuote) {
          if (fields > 0 || !lastEmpty) {
            fields++;
            end();
          }
          start = line;
          continue;
        }
      }
      if (record.length < 200 && c !== '\r') record += c;
      if (c === quote) {
        inQuote = !inQuote;
        lastEmpty = false;
      } else if (!inQuote && c === delim) {
        fields++;
        lastEmpty = true;
      } else if (c !== '\r') lastEmpty = false;
    }
  }
  if (fields > 0 || !lastEmpty) {
    fields++;
    end();
  }
  return { shown, total };
}

/**
 * Checks every CSV file of a source (`path` as the user wrote it, for messages; `nameOf`
 * a file as messages name it: an s3:// object, not its local copy): throws a RunError
 * naming the bad lines, or returns the row count and dialects.
 */
export async function checkCsvFiles(
  conn: DuckDBConnection,
  files: readonly string[],
  path: string,
  encoding: string | undefined,
  nameOf: (file: string) => string = (f) => f,
): Promise<CheckedCsv> {
  const shown: BadLine[] = [];
  const types = new Set<string>();
  let total = 0;
  let rows = 0;
  const dialects: CsvDialect[] = [];
  for (const file of files) {
    let found: Awaited<ReturnType<typeof readRejects>>;
    // DuckDB reads utf-16 as little-endian only: a big-endian file would be garbage
    // (a one-column header of mojibake, or no rows), on Spark too (plan.ts).
    if (encoding === 'utf-16' && (await utf16ByteOrder(file)) === 'BE') {
      throw new RunError(
        'RESTLAKE_SOURCE',
        `cannot read source ${path} (csv): ${nameOf(file)} is UTF-16 big-endian, and source.encoding utf-16 reads little-endian (as DuckDB does); convert it, e.g. iconv -f UTF-16BE -t UTF-16LE, or to UTF-8`,
      );
    }
    try {
      await dropRejects(conn);
      const { dialect, names } = await sniff(conn, file, encoding);
      dialects.push(dialect);
      rows += await scan(conn, file, dialect, names, encoding);
      found = await readRejects(conn, file, nameOf(file));
      const trailing = await trailingFieldLines(conn, file, nameOf(file), dialect, names.length, encoding);
      found.shown = [...found.shown, ...trailing.shown].sort((a, b) => a.line - b.line).slice(0, SHOWN_BAD_LINES);
      found.total += trailing.total;
    } catch (e) {
      if (e instanceof RunError) throw e;
      throw new RunError('RESTLAKE_SOURCE', `cannot read source ${path} (csv): ${nameOf(file)}: ${firstLine(e)}`, { cause: e });
    }
    shown.push(...found.shown.slice(0, SHOWN_BAD_LINES - shown.length));
    total += found.total;
    for (const t of found.types) types.add(t);
  }
  if (total > 0) {
    const hint = types.has('INVALID ENCODING')
      ? `the file is not ${encoding ?? 'utf-8'}: set source.encoding (latin-1 for most Excel and SAP exports, or utf-16)`
      : undefined;
    throw badLinesError(path, 'csv', shown, total, hint);
  }
  return { rows, dialects };
}


/**
 * The line each record of a CSV file starts on (data records numbered from 1 after the
 * header, in file order, as DuckDB reads them: a quoted field may span lines, empty
 * lines are no record), for the record numbers in `records`.
 */
export async function csvRecordLines(file: string, quote: string, encoding: string | undefined, records: readonly number[]): Promise<Map<number, number>> {
  const wanted = new Set(records);
  const last = Math.max(0, ...records);
  const out = new Map<number, number>();
  let line = 1;
  let record = -1; // the header is record 0
  let inQuote = false;
  let atStart = true;
  for await (const text of textOf(file, await decoderLabel(file, encoding))) {
    for (let i = 0; i < text.length; i++) {
      const c = text[i] as string;
      if (atStart) {
        if (c === '\r') continue;
        if (c === '\n') {
          line++;
          continue;
        }
        atStart = false;
        if (wanted.has(++record)) out.set(record, line);
        if (record >= last && record > 0) return out;
      }
      if (c === quote) inQuote = !inQuote;
      else if (c === '\n') {
        line++;
        if (!inQuote) atStart = true;
      }
    }
  }
  return out;
}
