// How a ResultRow travels as one JSON line. The key order is fixed and the first
// keys are the ones the driver needs for bookkeeping (request_id, success,
// status_code, error_class, duration_ms), so the driver reads them from the line's
// head with one anchored regex instead of parsing every result.
import type { PipelineConfig } from '../config/types.js';
import type { ErrorClass } from '../errors.js';
import type { ResultRow } from './types.js';
import { blankResult } from '../request/execute.js';
import { SINK_COLUMNS } from '../sink/columns.js';

/** The leading keys, in order; `parseResultHead` depends on exactly this order. */
export const RESULT_HEAD_KEYS = ['request_id', 'success', 'status_code', 'error_class', 'duration_ms'] as const;

/** Every sink column of the worker's own, the head first, then in table order. */
export const RESULT_FIXED_KEYS: readonly string[] = [
  ...RESULT_HEAD_KEYS,
  ...SINK_COLUMNS.map((c) => c.name).filter((n) => !(RESULT_HEAD_KEYS as readonly string[]).includes(n)),
];

/** Every column of a result line in order: fixed ones, then source_columns, then extract columns. */
export function resultKeys(config: PipelineConfig): string[] {
  return [...RESULT_FIXED_KEYS, ...config.sink.source_columns, ...Object.keys(config.response.extract)];
}

/**
 * The longest result line, in UTF-8 bytes, that the sink must accept: a capped response
 * body even when JSON escaping doubles it, plus room for the rest of the row.
 */
export function maxResultLineBytes(config: PipelineConfig): number {
  return Math.max(4 << 20, 2 * config.transport.max_response_bytes + (1 << 20));
}

// Cut first when a line is too long: the big free-text columns, largest first.
const SHRINKABLE = ['response_body', 'request_body', 'response_headers', 'error_message', 'request_headers'] as const;

// How each of the sink's own columns is written (timestamps travel as epoch micros).
// Everything else (source and extract columns) is any JSON value: JSON.stringify.
const WRITER_OF = new Map<string, 'str' | 'num' | 'bool'>(
  SINK_COLUMNS.map((c) => [c.name, c.type === 'string' ? 'str' : c.type === 'boolean' ? 'bool' : 'num']),
);

/** JSON for a string column: null unless it is a string. */
function str(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : 'null';
}
/** JSON for a number column: null unless finite (JSON has no NaN). */
function num(v: unknown): string {
  return typeof v === 'number' && Number.isFinite(v) ? '' + v : 'null';
}
/** JSON for a boolean column. */
function bool(v: unknown): string {
  return v === true ? 'true' : 'false';
}
/**
 * JSON for any other column; a value JSON cannot hold (undefined, a function) is null. A
 * BigInt (a source integer beyond 2^53, see request/row-json.ts) is written as its digits.
 */
function any(v: unknown): string {
  if (typeof v === 'bigint') return v.toString();
  return (v === undefined ? undefined : JSON.stringify(v)) ?? 'null';
}

/**
 * The line built as one string concatenation generated once per pipeline: no copy of
 * the row, no generic walk of JSON.stringify over it; the output is exactly what
 * JSON.stringify of the ordered copy would give. Keys are embedded as JSON string
 * literals (valid JS string literals), so any column name is safe.
 */
function compileLine(keys: readonly string[]): (r: ResultRow) => string {
  const parts = keys.map((k, i) => {
    const fn = WRITER_OF.get(k) ?? 'any';
    const prefix = JSON.stringify((i === 0 ? '{' : ',') + JSON.stringify(k) + ':');
    return `${prefix} + ${fn}(r[${JSON.stringify(k)}])`;
  });
  const body = `return ${parts.join(' + ')} + "}";`;
  return new Function('str', 'num', 'bool', 'any', `return (r) => { ${body} };`)(str, num, bool, any) as (r: ResultRow) => string;
}

/**
 * A serializer with the key order precomputed. Missing keys become null so every line
 * has every column. A line over maxResultLineBytes (a body full of escaped characters:
 * a control byte is six bytes escaped, an invalid UTF-8 byte three as U+FFFD) is
 * shortened, so one response can never make a commit fail. The row says what happened:
 * a text column that was cut is named in error_message (response_body also sets
 * response_truncated), a value column set to null as well. Success, status and the
 * extract columns stay as they were: the request succeeded, extract read the whole
 * body, and sending it again would not make the value fit.
 */
export function createResultSerializer(config: PipelineConfig): (r: ResultRow) => string {
  const maxBytes = maxResultLineBytes(config);
  const line = compileLine(resultKeys(config));
  const valueColumns = resultKeys(config).filter((k) => !RESULT_FIXED_KEYS.includes(k));
  return (r) => {
    const text = lineOrNull(line, r);
    // UTF-8 is at most 3 bytes per UTF-16 unit, so short lines skip the byte count.
    if (text !== null && text.length * 3 <= maxBytes) return text;
    return shorten(r, text, line, maxBytes, valueColumns);
  };
}

/** The line, or null when it would be longer than a string can be (RangeError). */
function lineOrNull(line: (r: ResultRow) => string, r: ResultRow): string | null {
  try {
    return line(r);
  } catch (err) {
    if (err instanceof RangeError) return null;
    throw err;
  }
}

function shorten(r: ResultRow, first: string | null, line: (r: ResultRow) => string, maxBytes: number, valueColumns: readonly string[]): string {
  const o: ResultRow = { ...r };
  let text = first;
  const base = typeof r.error_message === 'string' ? r.error_message : null;
  const cut = new Map<string, { from: number; escaped: number }>();
  const dropped: string[] = [];
  const say = (): void => {
    const notes = [...cut].map(([f, c]) => `${f} cut from ${c.from} to ${(o[f] as string).length} characters (${c.escaped} bytes as JSON)`);
    if (dropped.length > 0) notes.push(`${dropped.join(', ')} set to null`);
    const note = `the result row is over the sink's limit of ${maxBytes} bytes: ${notes.join('; ')}`;
    o.error_message = cut.has('error_message') || base === null ? note : `${base}; ${note}`;
  };
  for (;;) {
    const excess = text === null ? Infinity : Buffer.byteLength(text) - maxBytes;
    if (excess <= 0) return text as string;
    // Each pass shortens a field that still has text, or drops a column, so the loop ends.
    let field: string | null = null;
    for (const f of SHRINKABLE) {
      const v = o[f];
      if (typeof v === 'string' && v.length > 0 && (field === null || v.length > (o[field] as string).length)) field = f;
    }
    // A copied source column or an extract value larger than any text column (a 5 MB
    // blob next to a short body) goes first, whole; text columns are cut otherwise.
    const column = largestValueColumn(o, valueColumns);
    const textLength = field === null ? 0 : (o[field] as string).length;
    if (field !== null && (column === null || column.size <= textLength)) {
      const v = o[field] as string;
      const fieldBytes = escapedBytes(v);
      // Cut in proportion to the field's escaped size (escapes make a character 1–6
      // bytes); a line too long to build at all first cuts the field to the limit, or by half.
      const target = excess === Infinity ? (fieldBytes > maxBytes ? maxBytes : Math.floor(fieldBytes / 2)) : fieldBytes - excess;
      const keep = target > 0 ? Math.floor(v.length * (target / fieldBytes)) - 64 : 0;
      const prior = cut.get(field);
      cut.set(field, prior ?? { from: v.length, escaped: fieldBytes });
      o[field] = keepWhole(v, Math.max(0, keep));
      if (field === 'response_body') o.response_truncated = true;
    } else {
      if (column === null) return text ?? line(o);
      dropped.push(`${column.name} (${column.size === Infinity ? 'too large to write' : column.size + ' bytes'})`);
      o[column.name] = null;
    }
    say();
    text = lineOrNull(line, o);
  }
}

/** The first `n` UTF-16 units of `v`, one fewer when the last would split a surrogate pair. */
function keepWhole(v: string, n: number): string {
  if (n <= 0) return '';
  if (n >= v.length) return v;
  const last = v.charCodeAt(n - 1);
  return v.slice(0, last >= 0xd800 && last <= 0xdbff ? n - 1 : n);
}

/** Bytes of `v` as a JSON string (without the quotes), counted in pieces: any length works. */
function escapedBytes(v: string): number {
  const PIECE = 1 << 20;
  if (v.length <= PIECE) return Buffer.byteLength(JSON.stringify(v)) - 2;
  let n = 0;
  for (let at = 0; at < v.length; at += PIECE) n += Buffer.byteLength(JSON.stringify(keepWhole(v.slice(at, at + PIECE + 1), PIECE))) - 2;
  return n;
}

/** The source or extract column with the longest JSON (Infinity: too long to write), or null when all are null. */
function largestValueColumn(o: ResultRow, columns: readonly string[]): { name: string; size: number } | null {
  let best: { name: string; size: number } | null = null;
  for (const c of columns) {
    const v = o[c];
    if (v === null || v === undefined) continue;
    let size: number;
    try {
      size = Buffer.byteLength(any(v));
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      size = Infinity;
    }
    if (best === null || size > best.size) best = { name: c, size };
  }
  return best;
}

export interface ResultHead {
  requestId: string;
  success: boolean;
  statusCode: number | null;
  errorClass: string | null;
  durationMs: number;
}

const HEAD = /^\{"request_id":"([^"\\]*)","success":(true|false),"status_code":(null|-?\d+),"error_class":(null|"[^"\\]*"),"duration_ms":(-?[0-9.eE+-]+|null)[,}]/;

/** Reads the bookkeeping fields from a result line; falls back to a full parse for foreign producers. */
export function parseResultHead(line: string): ResultHead | null {
  const m = HEAD.exec(line);
  if (m) {
    return {
      requestId: m[1] as string,
      success: m[2] === 'true',
      statusCode: m[3] === 'null' ? null : Number(m[3]),
      errorClass: m[4] === 'null' ? null : (m[4] as string).slice(1, -1),
      durationMs: m[5] === 'null' ? 0 : Number(m[5]),
    };
  }
  try {
    const r = JSON.parse(line) as Partial<ResultRow>;
    if (typeof r.request_id !== 'string' || typeof r.success !== 'boolean') return null;
    return {
      requestId: r.request_id,
      success: r.success,
      statusCode: typeof r.status_code === 'number' ? r.status_code : null,
      errorClass: typeof r.error_class === 'string' ? r.error_class : null,
      durationMs: typeof r.duration_ms === 'number' ? r.duration_ms : 0,
    };
  } catch {
    return null;
  }
}

/**
 * A failed result for a row that never reached the request layer (unparseable line,
 * a worker that died on it, …). Source and extract columns are null.
 */
export function failedResult(
  config: PipelineConfig,
  runId: string,
  requestId: string,
  errorClass: ErrorClass,
  message: string,
  row?: Record<string, unknown>,
): ResultRow {
  const r = blankResult(requestId, runId, config.name, null, Date.now() * 1000);
  r.error_class = errorClass;
  r.error_message = message;
  for (const c of config.sink.source_columns) r[c] = row && c in row ? row[c] : null;
  for (const c of Object.keys(config.response.extract)) r[c] = null;
  return r;
}
