// Per-file statistics (PROTOCOL.md "Per-file Statistics") computed with one aggregate query per file,
// formatted as Spark does: numbers as JSON numbers (exact text, no float round trip), dates as
// yyyy-MM-dd, timestamps as ISO with milliseconds (min truncated down, max rounded up so bounds stay
// wide-but-correct), strings cut to a 32-character prefix (max gets a tie-breaker so it stays an upper bound).
import type { DuckDBConnection } from '@duckdb/node-api';
import { queryJson } from '../duck.js';
import { quoteIdent } from '../schema/duckdb-types.js';
import type { DeltaType, StructField } from '../schema/types.js';
import { parseDecimal } from '../schema/types.js';

export const STRING_PREFIX = 32;
const NUMERIC = new Set(['long', 'integer', 'short', 'byte', 'float', 'double']);

/** Types with min/max statistics (Spark's SkippingEligibleDataType): numbers, decimals, string, date, timestamps. */
export function hasMinMax(t: DeltaType): boolean {
  return typeof t === 'string' && (NUMERIC.has(t) || t === 'string' || t === 'date' || t === 'timestamp' || t === 'timestamp_ntz' || parseDecimal(t) !== null);
}

interface Leaf { path: string[]; expr: string; type: DeltaType; minMax: boolean }

function leaves(fields: StructField[], parentExpr: string | null, parentPath: string[], out: Leaf[]): Leaf[] {
  for (const f of fields) {
    const expr = parentExpr === null ? quoteIdent(f.name) : `(${parentExpr}).${quoteIdent(f.name)}`;
    const path = [...parentPath, f.name];
    if (typeof f.type === 'object' && f.type.type === 'struct') {
      leaves(f.type.fields, expr, path, out);
    } else {
      out.push({ path, expr, type: f.type, minMax: hasMinMax(f.type) });
    }
  }
  return out;
}

function minMaxSql(l: Leaf, agg: 'min' | 'max'): string {
  const v = `${agg}(${l.expr})`;
  switch (l.type) {
    case 'string':
      return `left(${v}, ${STRING_PREFIX + 1})`;
    case 'timestamp': {
      const adj = agg === 'min' ? `date_trunc('millisecond', timezone('UTC', ${v}))` : `date_trunc('millisecond', timezone('UTC', ${v}) + INTERVAL 999 MICROSECOND)`;
      return `strftime(${adj}, '%Y-%m-%dT%H:%M:%S.%g') || 'Z'`;
    }
    case 'timestamp_ntz': {
      const adj = agg === 'min' ? `date_trunc('millisecond', ${v})` : `date_trunc('millisecond', ${v} + INTERVAL 999 MICROSECOND)`;
      return `strftime(${adj}, '%Y-%m-%dT%H:%M:%S.%g')`;
    }
    case 'date':
      return `strftime(${v}, '%Y-%m-%d')`;
    default:
      return `CAST(${v} AS VARCHAR)`;
  }
}

/** A JSON value that is already serialized (exact numeric text). */
class Raw { constructor(readonly text: string) {} }

function toJson(v: unknown): string {
  if (v instanceof Raw) return v.text;
  if (v && typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${JSON.stringify(k)}:${toJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let o = obj;
  for (const k of path.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
  o[path[path.length - 1]] = value;
}

/** Which columns get statistics: Spark's delta.dataSkippingStatsColumns, else the first delta.dataSkippingNumIndexedCols (32) leaves. */
export interface StatsScope { numIndexedCols: number; statsColumns: string[] | null }

export function statsScopeOf(configuration: Record<string, string>): StatsScope {
  const cols = configuration['delta.dataSkippingStatsColumns'];
  const n = Number(configuration['delta.dataSkippingNumIndexedCols'] ?? 32);
  return {
    numIndexedCols: Number.isInteger(n) ? n : 32,
    statsColumns: cols ? cols.split(',').map((c) => c.trim().replace(/^`|`$/g, '')).filter(Boolean) : null,
  };
}

/** The leaves (by logical path, in schema order) that get statistics under `scope`. */
export function inScope<L extends { path: string[] }>(all: L[], scope: StatsScope): L[] {
  if (scope.statsColumns) {
    const wanted = scope.statsColumns.map((c) => c.toLowerCase());
    return all.filter((l) => {
      const p = l.path.join('.').toLowerCase();
      return wanted.some((w) => p === w || p.startsWith(w + '.'));
    });
  }
  return scope.numIndexedCols < 0 ? all : all.slice(0, scope.numIndexedCols);
}

/** The stats JSON string for the rows of `fromSql` (a table or subquery over the file's rows). */
export async function computeStats(
  conn: DuckDBConnection,
  fromSql: string,
  fields: StructField[],
  scope: StatsScope = { numIndexedCols: 32, statsColumns: null },
): Promise<{ json: string; numRecords: number; nullCounts: Map<string, number> }> {
  const ls = inScope(leaves(fields, null, [], []), scope);
  const topLevel = fields.map((f) => ({ name: f.name, expr: quoteIdent(f.name), nested: typeof f.type === 'object' && f.type.type === 'struct' }));
  const cols = ['CAST(count(*) AS VARCHAR) AS n'];
  ls.forEach((l, i) => {
    cols.push(`CAST(count(*) - count(${l.expr}) AS VARCHAR) AS nc${i}`);
    if (l.minMax) cols.push(`${minMaxSql(l, 'min')} AS mn${i}`, `${minMaxSql(l, 'max')} AS mx${i}`);
  });
  topLevel.forEach((t, i) => cols.push(`CAST(count(*) - count(${t.expr}) AS VARCHAR) AS tnc${i}`));
  const [row] = await queryJson(conn, `SELECT ${cols.join(', ')} FROM ${fromSql}`);
  const numRecords = Number(row.n);
  const minValues: Record<string, unknown> = {};
  const maxValues: Record<string, unknown> = {};
  const nullCount: Record<string, unknown> = {};
  ls.forEach((l, i) => {
    setPath(nullCount, l.path, new Raw(String(row[`nc${i}`])));
    if (!l.minMax) return;
    const mn = row[`mn${i}`];
    const mx = row[`mx${i}`];
    if (mn === null || mx === null || mn === undefined || mx === undefined) return;
    const t = l.type;
    if (typeof t === 'string' && (NUMERIC.has(t) || parseDecimal(t))) {
      const a = String(mn);
      const b = String(mx);
      if (!isFiniteNumberText(a) || !isFiniteNumberText(b)) return; // NaN/Infinity have no JSON form
      setPath(minValues, l.path, new Raw(a));
      setPath(maxValues, l.path, new Raw(b));
    } else if (t === 'string') {
      setPath(minValues, l.path, truncateMin(String(mn)));
      const m = truncateMax(String(mx));
      if (m !== null) setPath(maxValues, l.path, m);
    } else {
      setPath(minValues, l.path, String(mn));
      setPath(maxValues, l.path, String(mx));
    }
  });
  const nullCounts = new Map<string, number>();
  topLevel.forEach((t, i) => nullCounts.set(t.name, Number(row[`tnc${i}`])));
  const json = toJson({ numRecords: new Raw(String(numRecords)), minValues, maxValues, nullCount });
  return { json, numRecords, nullCounts };
}

function isFiniteNumberText(s: string): boolean {
  return /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s);
}

export function truncateMin(s: string): string {
  const cps = Array.from(s);
  return cps.length <= STRING_PREFIX ? s : cps.slice(0, STRING_PREFIX).join('');
}

/** Prefix + a tie-breaker larger than the cut character, so the result is still >= every value. */
export function truncateMax(s: string): string | null {
  const cps = Array.from(s);
  if (cps.length <= STRING_PREFIX) return s;
  const next = cps[STRING_PREFIX].codePointAt(0)!;
  if (next === 0x10ffff) return null; // cannot bound it with a short string; omit the stat
  return cps.slice(0, STRING_PREFIX).join('') + (next < 0x7f ? '\u007f' : String.fromCodePoint(0x10ffff));
}
