// Reading a JSON-lines source that is not clean. DuckDB's read_json has no rejects
// table: it stops at the first malformed line, and its line number is one too high
// ("line 5" for the fourth line). A line that is valid JSON but not an object (`[1,2]`,
// `5`) is worse: DuckDB then reads the whole source as one column named `json`, and the
// run would stop on a "missing column" that is no such thing. So when DuckDB fails, or
// falls back to that one column, the files are read line by line here to name every
// bad line. DuckDB also reads lines that are not JSON without a word: a trailing comma
// (`{"id":2,}`) and NaN or Infinity as numbers. Node's JSON.parse over every line would
// cost ~2.5 s per million lines (DuckDB counts them in ~0.4 s), so DuckDB lists the
// lines that could be such (a comma before } or ], a nan or inf after : , or [), which
// a clean file seldom has, and only a file with one is read line by line here.
import { isUtf8 } from 'node:buffer';
import { badLinesError, SHOWN_BAD_LINES, type BadLine } from './bad-lines.js';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { RunError } from '../errors.js';
import { chunksOf, linesRelation } from './lines.js';

/** The lines of a file as bytes, without their line ends, numbered from 1. */
async function* linesOf(file: string): AsyncGenerator<[number, Buffer]> {
  let rest = Buffer.alloc(0);
  let n = 0;
  for await (const chunk of chunksOf(file)) {
    let buf = Buffer.concat([rest, chunk]);
    let nl: number;
    while ((nl = buf.indexOf(10)) >= 0) {
      yield [++n, buf.subarray(0, nl > 0 && buf[nl - 1] === 13 ? nl - 1 : nl)];
      buf = buf.subarray(nl + 1);
    }
    rest = Buffer.from(buf);
  }
  if (rest.length > 0) yield [++n, rest];
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

function problemOf(bytes: Buffer, line: number): string | null {
  if (line === 1 && bytes.subarray(0, 3).equals(BOM)) return 'starts with a byte order mark (BOM), which JSON lines do not have: save the file as UTF-8 without BOM';
  if (!isUtf8(bytes)) return 'not valid UTF-8';
  const text = bytes.toString('utf8').trim();
  if (text === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return 'not valid JSON (' + (e as Error).message.replace(/ in JSON at position \d+(?: \(line \d+ column \d+\))?$/, '') + ')';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `a JSON ${Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value}, not an object`;
  return null;
}

/**
 * The RunError naming the bad lines of `files` (`path` as the user wrote it), or null
 * when every line is a JSON object (DuckDB's complaint was about something else).
 */
export async function jsonBadLines(files: readonly string[], path: string, nameOf: (file: string) => string = (f) => f): Promise<RunError | null> {
  const shown: BadLine[] = [];
  let total = 0;
  let utf8 = false;
  for (const file of files) {
    for await (const [line, bytes] of linesOf(file)) {
      const reason = problemOf(bytes, line);
      if (reason === null) continue;
      total++;
      utf8 ||= reason === 'not valid UTF-8';
      if (shown.length < SHOWN_BAD_LINES) shown.push({ file: nameOf(file), line, reason, text: bytes.toString('utf8').replace(/^\uFEFF/, '') });
    }
  }
  if (total === 0) return null;
  const hint = utf8 ? 'JSON lines are UTF-8 by definition: convert the file (e.g. iconv -f latin1 -t utf-8)' : undefined;
  return badLinesError(path, 'json', shown, total, hint);
}

// What DuckDB's JSON reader takes that JSON does not: a comma before a closing } or ],
// and nan/inf/infinity (any case, signed) as a value.
const LENIENT = String.raw`,\s*[}\]]|[:,\[]\s*[-+]?(nan|inf)`;

/**
 * The files of `files` DuckDB read although a line may not be JSON (see LENIENT), and
 * those that start with a BOM; a file DuckDB cannot list the lines of is one of them.
 */
export async function maybeLenientJson(conn: DuckDBConnection, files: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const file of files) {
    try {
      const r = await conn.runAndReadAll(`SELECT count(*)::DOUBLE FROM ${linesRelation(file)} WHERE regexp_matches(l, '${LENIENT}', 'i') OR starts_with(l, chr(65279))`);
      if (Number((r.getRows()[0] as unknown[])[0]) > 0) out.push(file);
    } catch {
      out.push(file);
    }
  }
  return out;
}

/**
 * The line numbers of records of a JSON-lines file (DuckDB's rows, numbered from 1 in
 * file order: it skips blank lines), for the record numbers in `records`.
 */
export async function jsonRecordLines(file: string, records: readonly number[]): Promise<Map<number, number>> {
  const wanted = new Set(records);
  const last = Math.max(0, ...records);
  const out = new Map<number, number>();
  let n = 0;
  for await (const [line, bytes] of linesOf(file)) {
    if (bytes.toString('utf8').trim() === '') continue;
    if (wanted.has(++n)) out.set(n, line);
    if (n >= last) break;
  }
  return out;
}
