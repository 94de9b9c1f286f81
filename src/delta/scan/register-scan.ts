// Exposes a snapshot's live rows as a DuckDB TEMP VIEW in logical column names and types:
// one read_parquet over every live file (union_by_name absorbs schema evolution and type widening),
// partition values joined in per file, deletion-vector rows anti-joined by (file, file_row_number),
// column-mapped physical names turned back into logical names at every nesting level.
import type { DuckDBConnection } from '@duckdb/node-api';
import { createHash } from 'node:crypto';
import { DeltaError } from '../errors.js';
import { DeletionVectorLoader } from '../dv/load.js';
import { queryJson } from '../duck.js';
import { columnMappingMode } from '../log/features.js';
import { resolveTablePath } from '../log/paths.js';
import type { Snapshot } from '../log/snapshot.js';
import { quoteIdent, quoteLiteral, toDuckDbType, fromDuckDbType } from '../schema/duckdb-types.js';
import type { DeltaType, StructField } from '../schema/types.js';
import type { Storage } from '../storage/types.js';
import { canonicalPartitionString, partitionCastSql } from './partition-values.js';
import { fieldIdNames } from './field-ids.js';

type Mode = 'none' | 'name' | 'id';

const FILE_COL = '__rl_filename';
const ROW_COL = 'file_row_number';

export async function registerScan(conn: DuckDBConnection, storage: Storage, snap: Snapshot, viewName: string): Promise<void> {
  const mode = columnMappingMode(snap.protocol, snap.metadata);
  const partCols = new Set(snap.partitionColumns);
  const fields = snap.schema.fields;
  const view = quoteIdent(viewName);
  const tag = createHash('sha1').update(viewName).digest('hex').slice(0, 12);
  const filesTable = `__rl_files_${tag}`;
  const dvTable = `__rl_dv_${tag}`;

  if (snap.files.length === 0) {
    const cols = fields.map((f) => `CAST(NULL AS ${toDuckDbType(f.type)}) AS ${quoteIdent(f.name)}`).join(', ');
    await conn.run(`CREATE OR REPLACE TEMP VIEW ${view} AS SELECT ${cols} WHERE false`);
    return;
  }

  // Local paths (S3 storage downloads into its cache), bounded parallelism.
  const locals = await mapLimit(snap.files, 16, (a) => storage.localPath(resolveTablePath(storage, a.path)));

  // Per-file partition values (canonical strings; cast once in the view).
  const partFields = fields.filter((f) => partCols.has(f.name));
  for (const pc of snap.partitionColumns) {
    if (!fields.some((f) => f.name === pc)) throw new DeltaError('DELTA_CORRUPT_LOG', `partition column ${pc} is not in the schema of ${storage.root}`);
  }
  await conn.run(
    `CREATE OR REPLACE TEMP TABLE ${filesTable} (fname VARCHAR${partFields.map((_, i) => `, p${i} VARCHAR`).join('')})`,
  );
  const fa = await conn.createAppender(filesTable, 'main', 'temp');
  snap.files.forEach((add, i) => {
    fa.appendVarchar(locals[i]);
    for (const f of partFields) {
      const key = physicalName(f, mode);
      const v = canonicalPartitionString(add.partitionValues?.[key] ?? add.partitionValues?.[f.name], f.type, f.name);
      if (v === null) fa.appendNull();
      else fa.appendVarchar(v);
    }
    fa.endRow();
  });
  fa.flushSync();
  fa.closeSync();

  // Deleted rows.
  const withDv = snap.files.map((a, i) => ({ a, i })).filter((x) => x.a.deletionVector);
  if (withDv.length > 0) {
    await conn.run(`CREATE OR REPLACE TEMP TABLE ${dvTable} (fname VARCHAR, row BIGINT)`);
    const loader = new DeletionVectorLoader(storage);
    const rowsPerFile = await mapLimit(withDv, 8, (x) => loader.rows(x.a.deletionVector!));
    const da = await conn.createAppender(dvTable, 'main', 'temp');
    withDv.forEach((x, j) => {
      for (const r of rowsPerFile[j]) {
        da.appendVarchar(locals[x.i]);
        da.appendBigInt(BigInt(r));
        da.endRow();
      }
    });
    da.flushSync();
    da.closeSync();
  }

  const dataFields = fields.filter((f) => !partCols.has(f.name));
  const src =
    `read_parquet([${locals.map(quoteLiteral).join(', ')}], filename=${quoteLiteral(FILE_COL)}, ` +
    `file_row_number=true, union_by_name=true, hive_partitioning=false)`;
  let described: Record<string, unknown>[];
  try {
    described = await queryJson(conn, `DESCRIBE SELECT * FROM ${src}`);
  } catch (e) {
    // Typically a data file that VACUUM removed (time travel too far back) or a damaged file.
    throw new DeltaError('DELTA_DATA_FILE_UNREADABLE', `cannot read the data files of ${storage.root} at version ${snap.version}: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  const fileTypes = new Map(described.map((r) => [String(r.column_name), String(r.column_type)]));

  // id mode: top-level columns are found by Parquet field_id, whatever the file calls them.
  const idNames = mode === 'id' ? await fieldIdNames(conn, locals) : null;

  const select: string[] = [];
  for (const f of fields) {
    if (partCols.has(f.name)) {
      const i = partFields.indexOf(f);
      select.push(`${partitionCastSql(`f.p${i}`, f.type)} AS ${quoteIdent(f.name)}`);
      continue;
    }
    let col = physicalName(f, mode);
    if (idNames) {
      const id = f.metadata['delta.columnMapping.id'];
      const found = typeof id === 'number' ? idNames.get(id) : undefined;
      if (found === undefined) col = ''; // the spec: ids not in the files read as null
      else col = found;
    }
    const fileType = col ? fileTypes.get(col) : undefined;
    if (fileType === undefined) {
      select.push(`CAST(NULL AS ${toDuckDbType(f.type)}) AS ${quoteIdent(f.name)}`);
      continue;
    }
    select.push(`${convert(`d.${quoteIdent(col)}`, fileType, f.type, mode)} AS ${quoteIdent(f.name)}`);
  }
  if (dataFields.length === 0 && select.length === 0) throw new DeltaError('DELTA_CORRUPT_LOG', `table ${storage.root} has no columns`);

  const dvJoin = withDv.length > 0 ? ` ANTI JOIN ${dvTable} x ON x.fname = d.${FILE_COL} AND x.row = d.${ROW_COL}` : '';
  await conn.run(
    `CREATE OR REPLACE TEMP VIEW ${view} AS SELECT ${select.join(', ')} FROM ${src} d ` +
      `JOIN ${filesTable} f ON f.fname = d.${FILE_COL}${dvJoin}`,
  );
}

export function physicalName(f: StructField, mode: Mode): string {
  if (mode === 'none') return f.name;
  const p = f.metadata?.['delta.columnMapping.physicalName'];
  return typeof p === 'string' && p ? p : f.name;
}

/**
 * SQL converting a column read from Parquet (DuckDB type `fileType`, physical nested names) to the
 * logical Delta type. Without column mapping a CAST does it (struct casts match by name and widen).
 */
function convert(expr: string, fileType: string, t: DeltaType, mode: Mode): string {
  if (mode === 'none' || typeof t === 'string') {
    // INT96 / non-UTC-adjusted timestamps come back as TIMESTAMP; Delta `timestamp` is UTC.
    if (t === 'timestamp' && /^TIMESTAMP(_S|_MS|_NS)?$/i.test(fileType.trim())) return `timezone('UTC', CAST(${expr} AS TIMESTAMP))`;
    return `CAST(${expr} AS ${toDuckDbType(t)})`;
  }
  const ft = safeFromDuck(fileType);
  if (t.type === 'struct') {
    const parts = t.fields.map((sf) => {
      const pn = physicalName(sf, mode);
      const sub = ft && typeof ft === 'object' && ft.type === 'struct' ? ft.fields.find((x) => x.name === pn) : undefined;
      if (!sub) return `${quoteIdent(sf.name)} := CAST(NULL AS ${toDuckDbType(sf.type)})`;
      return `${quoteIdent(sf.name)} := ${convert(`(${expr}).${quoteIdent(pn)}`, toDuckDbType(sub.type), sf.type, mode)}`;
    });
    return `CASE WHEN ${expr} IS NULL THEN NULL ELSE struct_pack(${parts.join(', ')}) END`;
  }
  if (t.type === 'array') {
    const elemType = ft && typeof ft === 'object' && ft.type === 'array' ? toDuckDbType(ft.elementType) : toDuckDbType(t.elementType);
    const v = lambdaVar('e');
    return `list_transform(${expr}, ${v} -> ${convert(v, elemType, t.elementType, mode)})`;
  }
  const kt = ft && typeof ft === 'object' && ft.type === 'map' ? toDuckDbType(ft.keyType) : toDuckDbType(t.keyType);
  const vt = ft && typeof ft === 'object' && ft.type === 'map' ? toDuckDbType(ft.valueType) : toDuckDbType(t.valueType);
  const e = lambdaVar('m');
  return (
    `CASE WHEN ${expr} IS NULL THEN NULL ELSE map_from_entries(list_transform(map_entries(${expr}), ${e} -> ` +
    `struct_pack(key := ${convert(`${e}.key`, kt, t.keyType, mode)}, value := ${convert(`${e}.value`, vt, t.valueType, mode)}))) END`
  );
}

/** Lambda parameter names must not shadow each other across nesting levels: number them. */
let lambdaSeq = 0;
function lambdaVar(kind: string): string {
  return `__rl_${kind}${lambdaSeq++}`;
}

function safeFromDuck(t: string): DeltaType | null {
  try {
    return fromDuckDbType(t);
  } catch {
    return null;
  }
}


async function mapLimit<T, R>(items: T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  });
  await Promise.all(workers);
  return out;
}
