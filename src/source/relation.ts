// Turns a source config into a DuckDB relation (SQL text usable after FROM).
// Plain files are read by DuckDB's own readers; Delta tables through src/delta's
// scan view; s3:// plain files through the delta Storage's local cache.
import { readdir, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { SourceConfig } from '../config/types.js';
import { DeltaTable, isS3Uri, openStorage } from '../delta/index.js';
import { quoteIdent, quoteLiteral } from '../delta/schema/duckdb-types.js';
import { firstLine, RunError } from '../errors.js';
import { checkCsvFiles, csvOptions, type CsvDialect } from './csv-check.js';
import { jsonBadLines, maybeLenientJson } from './json-check.js';

export const SOURCE_VIEW = 'restlake_source';

const EXTENSIONS: Record<string, string[]> = {
  parquet: ['parquet'],
  csv: ['csv', 'tsv'],
  json: ['json', 'ndjson', 'jsonl'],
};

function hasGlob(p: string): boolean {
  return /[*?[]/.test(p);
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Local paths DuckDB should read: a file, a glob, or every file with the format's
 * extension under a directory (hidden and `_`-prefixed entries are skipped).
 */
async function localPatterns(path: string, format: string): Promise<string[]> {
  if (hasGlob(path) || !(await isDirectory(path))) return [path];
  const exts = EXTENSIONS[format] ?? [format];
  const entries = (await readdir(path, { recursive: true })) as string[];
  const files = entries
    .filter((rel) => !isHidden(rel, sep))
    .filter((rel) => exts.some((e) => rel.toLowerCase().endsWith('.' + e)))
    .sort()
    .map((rel) => join(path, rel));
  if (files.length === 0) throw new RunError('RESTLAKE_SOURCE', `no ${format} files (${exts.map((e) => '*.' + e).join(', ')}) under ${path}`);
  return files;
}

/**
 * A CSV or JSON-lines source of zero bytes has no columns: DuckDB would make one up
 * ("json", "column0"), and the run would stop on a missing key or template column. An
 * empty file is usually an export that failed upstream, so it is named as such.
 */
async function refuseEmptyFiles(files: readonly string[], path: string, format: string): Promise<void> {
  if (format !== 'csv' && format !== 'json') return;
  const sizes = await Promise.all(files.filter((f) => !hasGlob(f)).map((f) => stat(f).then((s) => s.size, () => -1)));
  if (sizes.length === files.length && sizes.every((n) => n === 0)) {
    throw new RunError('RESTLAKE_SOURCE', `source ${path} is empty (0 bytes): no ${format === 'csv' ? 'header line' : 'JSON line'}, so no columns and no rows`);
  }
}

/** Whether a path below a source directory is hidden or `_`-prefixed (`_SUCCESS`, `_temporary/`, `.crc`), as Spark skips them. */
function isHidden(rel: string, separator: string): boolean {
  return rel.split(separator).some((part) => part.startsWith('.') || part.startsWith('_'));
}

/**
 * s3:// plain files: fetched through the delta Storage (which caches them locally for
 * DuckDB); `names` maps each local copy to its s3:// object, which messages name.
 */
async function s3Files(uri: string, format: string, names: Map<string, string>): Promise<string[]> {
  const exts = EXTENSIONS[format] ?? [format];
  const glob = hasGlob(uri);
  const lastSlash = uri.lastIndexOf('/');
  if (!glob && exts.some((e) => uri.toLowerCase().endsWith('.' + e))) {
    try {
      const local = await openStorage(uri.slice(0, lastSlash)).localPath(uri.slice(lastSlash + 1));
      names.set(local, uri);
      return [local];
    } catch (e) {
      // No such object: maybe a directory named like a file, as Spark's
      // df.write.csv("orders.csv") makes; it is listed as a prefix below.
      if (!/does not exist/.test((e as Error).message)) throw e;
    }
  }
  // A prefix (every file with the format's extension under it) or a glob (list the
  // directory before the first wildcard and match the rest).
  const dir = glob ? uri.slice(0, uri.lastIndexOf('/', uri.search(/[*?[]/))) : uri.replace(/\/+$/, '');
  const storage = openStorage(dir);
  const re = glob ? globToRegExp(uri.slice(dir.length + 1)) : null;
  const files = (await storage.list('', { recursive: true })).filter(
    (f) => !isHidden(f.path, '/') && (re ? re.test(f.path) : exts.some((e) => f.path.endsWith('.' + e))),
  );
  if (files.length === 0) throw new RunError('RESTLAKE_SOURCE', `no ${format} files at ${uri}`);
  return Promise.all(
    files.map(async (f) => {
      const local = await storage.localPath(f.path);
      names.set(local, `${dir}/${f.path}`);
      return local;
    }),
  );
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i++;
        if (glob[i + 1] === '/') i++;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp('^' + re + '$');
}

function reader(format: string, files: string[]): string {
  const list = '[' + files.map(quoteLiteral).join(', ') + ']';
  switch (format) {
    case 'parquet':
      return `read_parquet(${list}, union_by_name = true)`;
    case 'json':
      return `read_json(${list}, format = 'newline_delimited', union_by_name = true)`;
    default:
      throw new RunError('RESTLAKE_SOURCE', `unsupported source format '${format}'`);
  }
}

/**
 * The CSV reader's buffer (it holds two per thread). DuckDB's default, 16 x max_line_size
 * (2 MB) = 32 MB, left no room under the dedupe pass's memory limit (stream.ts): a CSV
 * over ~32 MB ran out of memory before the first request. Lines stay up to max_line_size;
 * reading takes no longer (330 MB CSV dedupe pass at 64 MiB: 5.9 s, default at 128 MB: 7.2 s).
 */
const CSV_BUFFER_BYTES = 8 << 20;

/**
 * CSV files read in the dialect their check found. Files of one dialect are one
 * read_csv (union_by_name); a source mixing dialects (rare: a directory of `,` and `;`
 * exports) is their UNION ALL BY NAME, run by run in file order.
 */
function csvReader(files: readonly string[], dialects: readonly CsvDialect[], encoding: string | undefined): string {
  const runs: { dialect: CsvDialect; files: string[] }[] = [];
  files.forEach((f, i) => {
    const d = dialects[i] as CsvDialect;
    const last = runs[runs.length - 1];
    if (last && last.dialect.delim === d.delim && last.dialect.quote === d.quote) last.files.push(f);
    else runs.push({ dialect: d, files: [f] });
  });
  const reads = runs.map(
    (r) => `read_csv([${r.files.map(quoteLiteral).join(', ')}], ${csvOptions(r.dialect, encoding)}, buffer_size = ${CSV_BUFFER_BYTES}, union_by_name = true)`,
  );
  return reads.length === 1 ? (reads[0] as string) : '(' + reads.map((r) => `SELECT * FROM ${r}`).join(' UNION ALL BY NAME ') + ')';
}

/** The files behind `patterns` (globs expanded by DuckDB, as its readers would), in order. */
async function expand(conn: DuckDBConnection, patterns: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of patterns) {
    if (!hasGlob(p)) {
      out.push(p);
      continue;
    }
    const r = await conn.runAndReadAll(`SELECT file FROM glob(${quoteLiteral(p)}) ORDER BY file`);
    const files = (r.getRowsJson() as [string][]).map((x) => x[0]);
    if (files.length === 0) throw new RunError('RESTLAKE_SOURCE', `no files match ${p}`);
    out.push(...files);
  }
  return out;
}

async function nonEmpty(files: readonly string[]): Promise<string[]> {
  const sizes = await Promise.all(files.map((f) => stat(f).then((s) => s.size, () => -1)));
  return files.filter((_, i) => sizes[i] !== 0);
}

/** DuckDB's answer when no line of a JSON source is an object: the whole line as one column. */
function isJsonFallback(columns: readonly { name: string; duckType: string }[]): boolean {
  return columns.length === 1 && columns[0]?.name === 'json' && columns[0].duckType === 'JSON';
}

/**
 * Counts a JSON-lines source with every column read (so a value its sniffed type cannot
 * hold is found now, not mid-run); a failure, the one-column fallback, or a line DuckDB
 * read although it is not JSON, is explained line by line.
 */
async function checkJson(conn: DuckDBConnection, relation: string, files: string[], path: string, nameOf: (file: string) => string): Promise<number> {
  // Zero-byte files have no lines to name (and DuckDB cannot list the lines of one).
  const present = await nonEmpty(files);
  try {
    const columns = await describe(conn, relation);
    if (isJsonFallback(columns)) {
      const bad = await jsonBadLines(present, path, nameOf);
      if (bad) throw bad;
    }
    const r = await conn.runAndReadAll(`SELECT count(*)::DOUBLE, count(COLUMNS(*)) FROM ${relation}`);
    // Read, but maybe not JSON: a trailing comma, NaN (json-check.ts).
    const suspect = await maybeLenientJson(conn, present);
    const bad = suspect.length ? await jsonBadLines(suspect, path, nameOf) : null;
    if (bad) throw bad;
    return Number((r.getRows()[0] as unknown[])[0]);
  } catch (e) {
    if (e instanceof RunError) throw e;
    // DuckDB names the file; the scan names the lines (and counts them).
    const named = /in file "((?:[^"\\]|\\.)+)"/.exec((e as Error).message)?.[1];
    const bad = /Malformed JSON|invalid UTF-8/.test((e as Error).message) ? await jsonBadLines(named ? [named] : present, path, nameOf) : null;
    if (bad) throw bad;
    throw e;
  }
}

export interface RegisteredSource {
  /** The temp view's name (SQL usable after FROM). */
  relation: string;
  /** Rows of the view, when reading it counted them anyway (CSV, JSON); else null. */
  rows: number | null;
  /** A CSV source's dialect per file (what Spark must be told); null for other formats. */
  csv: CsvDialect[] | null;
  /** The files a CSV or JSON source was read from (local paths, globs expanded), or null. */
  files: string[] | null;
}

/**
 * Registers the source as the temp view `restlake_source` on `conn` (with `limit`
 * applied). Throws RunError when it cannot be read: for CSV and JSON lines that is
 * also any line that cannot be read, named, before a row is used. A source is checked
 * whole, `limit` or not: the sniffer reads past the limit anyway, and a bad line there
 * means a broken export.
 */
export async function registerSource(conn: DuckDBConnection, source: SourceConfig): Promise<RegisteredSource> {
  let relation: string;
  let rows: number | null = null;
  let csv: CsvDialect[] | null = null;
  let read: string[] | null = null;
  try {
    if (source.format === 'delta') {
      const table = await DeltaTable.forPath(source.path);
      if (!(await table.exists())) throw new RunError('RESTLAKE_SOURCE', `no Delta table at ${source.path}`);
      const inner = `${SOURCE_VIEW}_delta`;
      await table.registerScan(conn, inner);
      relation = quoteIdent(inner);
    } else {
      const s3Names = new Map<string, string>();
      const nameOf = (file: string): string => s3Names.get(file) ?? file;
      const patterns = isS3Uri(source.path) ? await s3Files(source.path, source.format, s3Names) : await localPatterns(source.path, source.format);
      await refuseEmptyFiles(patterns, source.path, source.format);
      if (source.format === 'csv') {
        // Zero-byte files hold no header and no rows: nothing to check, nothing to read.
        const files = await nonEmpty(await expand(conn, patterns));
        const checked = await checkCsvFiles(conn, files, source.path, source.encoding, nameOf);
        relation = csvReader(files, checked.dialects, source.encoding);
        rows = checked.rows;
        csv = checked.dialects;
        read = files;
      } else {
        relation = reader(source.format, patterns);
        if (source.format === 'json') {
          read = await expand(conn, patterns);
          rows = await checkJson(conn, relation, read, source.path, nameOf);
        }
      }
    }
    const cap = source.limit !== null ? Math.max(0, Math.floor(source.limit)) : null;
    const limit = cap !== null ? ` LIMIT ${cap}` : '';
    if (rows !== null && cap !== null) rows = Math.min(rows, cap);
    await conn.run(`CREATE OR REPLACE TEMP VIEW ${quoteIdent(SOURCE_VIEW)} AS SELECT * FROM ${relation}${limit}`);
    // Binding the view does not touch the files; DESCRIBE does, so a missing or unreadable source fails here.
    await conn.run(`DESCRIBE SELECT * FROM ${quoteIdent(SOURCE_VIEW)}`);
  } catch (e) {
    if (e instanceof RunError) throw e;
    throw new RunError('RESTLAKE_SOURCE', `cannot read source ${source.path} (${source.format}): ${firstLine(e)}`, { cause: e });
  }
  return { relation: SOURCE_VIEW, rows, csv, files: read };
}

/** Column names and DuckDB types of a relation. */
export async function describe(conn: DuckDBConnection, relation: string): Promise<{ name: string; duckType: string }[]> {
  const r = await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${relation}`);
  return (r.getRowObjectsJson() as { column_name: string; column_type: string }[]).map((c) => ({ name: c.column_name, duckType: c.column_type }));
}
