// The typed checkpoint columns add.partitionValues_parsed and add.stats_parsed (PROTOCOL.md "Checkpoints",
// "Per-file Statistics"), written when delta.checkpoint.writeStatsAsStruct=true, and the way back from
// stats_parsed to a JSON stats string for checkpoints that carry no `stats` (writeStatsAsJson=false).
// Layout as delta-spark: partition columns under their physical names with their own types; stats after
// Spark's statsSchema: numRecords, minValues/maxValues (only the types Spark keeps min/max for, nested
// structs nested), nullCount (LONG for every leaf, binary/map/array included), tightBounds with deletion vectors.
import { DeltaError } from '../errors.js';
import { quoteIdent, quoteLiteral, toDuckDbType } from '../schema/duckdb-types.js';
import { type DeltaType, type StructField, isStruct, parseDecimal } from '../schema/types.js';
import { canonicalPartitionString } from '../scan/partition-values.js';
import { physicalName } from '../scan/register-scan.js';
import { hasMinMax, inScope, statsScopeOf } from '../write/stats.js';
import type { AddFile } from './actions.js';
import { columnMappingMode } from './features.js';
import type { Snapshot } from './snapshot.js';

/** A json_transform structure: DuckDB type names at the leaves, nested objects for structs. */
export type Structure = { [k: string]: string | Structure };

export interface ParsedColumns {
  /** Partition columns: physical name (the partitionValues key) and type; empty when unpartitioned. */
  partitions: { physical: string; name: string; type: DeltaType }[];
  /** json_transform structure of stats_parsed. */
  stats: Structure;
}

interface StatLeaf { path: string[]; physical: string[]; type: DeltaType }

function statLeaves(fields: StructField[], mode: 'none' | 'name' | 'id', path: string[], physical: string[], out: StatLeaf[]): StatLeaf[] {
  for (const f of fields) {
    const p = [...path, f.name];
    const ph = [...physical, physicalName(f, mode)];
    if (isStruct(f.type)) statLeaves(f.type.fields, mode, p, ph, out);
    else out.push({ path: p, physical: ph, type: f.type });
  }
  return out;
}

function setPath(o: Structure, path: string[], v: string): void {
  let cur = o;
  for (const k of path.slice(0, -1)) cur = (cur[k] ??= {}) as Structure;
  cur[path[path.length - 1]] = v;
}

function duckType(t: DeltaType, column: string, root: string): string {
  try {
    return toDuckDbType(t);
  } catch (e) {
    throw new DeltaError('DELTA_UNSUPPORTED_FEATURE', `cannot write the typed checkpoint columns of ${root}: column ${column} has type ${JSON.stringify(t)}, which restlake cannot represent`, { cause: e });
  }
}

/** The columns' layout for the table at `snap`: the data columns in the statistics scope, by physical name. */
export function parsedColumns(snap: Snapshot, root: string): ParsedColumns {
  const mode = columnMappingMode(snap.protocol, snap.metadata);
  const byName = new Map(snap.schema.fields.map((f) => [f.name.toLowerCase(), f]));
  const partitions = snap.partitionColumns.map((c) => {
    const f = byName.get(c.toLowerCase());
    if (!f) throw new DeltaError('DELTA_CORRUPT_LOG', `${root}: partition column ${c} is not in the schema`);
    return { physical: physicalName(f, mode), name: f.name, type: f.type };
  });
  const partSet = new Set(snap.partitionColumns.map((c) => c.toLowerCase()));
  const data = snap.schema.fields.filter((f) => !partSet.has(f.name.toLowerCase()));
  const leaves = inScope(statLeaves(data, mode, [], [], []), statsScopeOf(snap.configuration));
  const minMax: Structure = {};
  const nullCount: Structure = {};
  for (const l of leaves) {
    setPath(nullCount, l.physical, 'BIGINT');
    if (hasMinMax(l.type)) setPath(minMax, l.physical, duckType(l.type, l.path.join('.'), root));
  }
  // DuckDB has no empty structs; Spark leaves such a field out too.
  const stats: Structure = { numRecords: 'BIGINT' };
  if (Object.keys(minMax).length) Object.assign(stats, { minValues: minMax, maxValues: minMax });
  if (Object.keys(nullCount).length) stats.nullCount = nullCount;
  const dv = [...(snap.protocol.readerFeatures ?? []), ...(snap.protocol.writerFeatures ?? [])].includes('deletionVectors');
  if (dv || snap.files.some((f) => f.stats?.includes('"tightBounds"'))) stats.tightBounds = 'BOOLEAN';
  for (const p of partitions) duckType(p.type, p.name, root);
  return { partitions, stats };
}

/** The partition values as canonical strings (null stays null), for the checkpoint's action line. */
export function canonicalPartitions(add: AddFile, cols: ParsedColumns): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const p of cols.partitions) out[p.physical] = canonicalPartitionString(add.partitionValues?.[p.physical], p.type, p.name);
  return out;
}

/**
 * SQL for the two typed fields, from an add struct `add` whose partitionValues_parsed holds the canonical
 * strings and whose stats is the JSON string. A value that does not parse becomes null, as Spark's
 * non-ANSI cast does: a missing statistic only costs skipping, never correctness.
 */
export function parsedFieldsSql(add: string, cols: ParsedColumns): string[] {
  const out: string[] = [];
  if (cols.partitions.length) {
    const fields = cols.partitions.map((p) => {
      const raw = `${add}."partitionValues_parsed".${quoteIdent(p.physical)}`;
      const typed = p.type === 'binary' ? `from_hex(${raw})` : `TRY_CAST(${raw} AS ${toDuckDbType(p.type)})`;
      return `${quoteIdent(p.physical)} := ${typed}`;
    });
    out.push(`"partitionValues_parsed" := struct_pack(${fields.join(', ')})`);
  }
  const stats = `${add}."stats"`;
  out.push(`"stats_parsed" := CASE WHEN json_valid(${stats}) THEN json_transform(${stats}, ${quoteLiteral(JSON.stringify(cols.stats))}) END`);
  return out;
}

/**
 * SQL turning a stats_parsed value of Delta type `t` back into Delta's JSON stats text: numbers as
 * JSON numbers, dates yyyy-MM-dd, timestamps ISO with milliseconds (UTC, 'Z'; without zone for
 * timestamp_ntz and for Parquet timestamps not adjusted to UTC). Nulls, non-finite floats and
 * types without a JSON statistic are left out, as in the stats a writer produces.
 */
export function statsJsonSql(expr: string, t: DeltaType): string {
  if (isStruct(t)) {
    const parts = t.fields.map((f) => `${quoteLiteral(JSON.stringify(f.name) + ':')} || (${statsJsonSql(`(${expr}).${quoteIdent(f.name)}`, f.type)})`);
    return `CASE WHEN ${expr} IS NULL THEN NULL ELSE '{' || concat_ws(',', ${parts.join(', ')}) || '}' END`;
  }
  const iso = (v: string, zone: string): string => `'"' || strftime(${v}, '%Y-%m-%dT%H:%M:%S.%g') || '${zone}"'`;
  switch (t) {
    case 'string': return `to_json(${expr})`;
    case 'long': case 'integer': case 'short': case 'byte': return `CAST(${expr} AS VARCHAR)`;
    case 'float': case 'double': return `CASE WHEN isfinite(${expr}) THEN CAST(${expr} AS VARCHAR) END`;
    case 'boolean': return `CASE WHEN ${expr} THEN 'true' WHEN NOT ${expr} THEN 'false' END`;
    case 'date': return `'"' || strftime(${expr}, '%Y-%m-%d') || '"'`;
    case 'timestamp': return iso(`timezone('UTC', ${expr})`, 'Z');
    case 'timestamp_ntz': return iso(expr, '');
  }
  if (typeof t === 'string' && parseDecimal(t)) return `CAST(${expr} AS VARCHAR)`;
  return 'NULL';
}
