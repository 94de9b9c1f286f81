// Writes the rows of a staged DuckDB table as Delta data files: one Parquet file per (partition, chunk),
// zstd, unique names, stats computed from the same rows, moved into place through Storage.
import type { DuckDBConnection } from '@duckdb/node-api';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { queryJson } from '../duck.js';
import { type AddFile, encodeActionPath } from '../log/actions.js';
import { quoteIdent, quoteLiteral } from '../schema/duckdb-types.js';
import type { StructField, StructType } from '../schema/types.js';
import type { Storage } from '../storage/types.js';
import { computeStats, statsScopeOf } from './stats.js';
import { partitionDir, partitionValueSql } from './partitions.js';

export const DEFAULT_TARGET_FILE_ROWS = 1_000_000;
/**
 * DuckDB's Parquet writer holds a row group in memory while it fills; its default
 * (122,880 rows) costs hundreds of MB for rows that carry response bodies. Writers
 * that know their row size pass a better value (see WriteOptions.rowGroupRows).
 */
export const DEFAULT_ROW_GROUP_ROWS = 122_880;
const VECTOR_ROWS = 2048;
/** Below this many rows per file only the staged path splits files exactly. */
export const STREAMED_MIN_TARGET_ROWS = VECTOR_ROWS;

/** SQL that stages `selectSql` into temp table `table`, columns cast to the schema's types in schema order. */
export function stageSql(table: string, selectSql: string, columnExprs: string[]): string {
  return `CREATE OR REPLACE TEMP TABLE ${table} AS SELECT ${columnExprs.join(', ')} FROM (${selectSql}) __rl_src`;
}

export interface WrittenFiles { adds: AddFile[]; rows: number; nullCounts: Map<string, number> }

export async function writeStagedFiles(
  conn: DuckDBConnection,
  storage: Storage,
  table: string,
  schema: StructType,
  partitionColumns: string[],
  dataChange: boolean,
  configuration: Record<string, string> = {},
  targetFileRows = DEFAULT_TARGET_FILE_ROWS,
): Promise<WrittenFiles> {
  const target = Math.max(1, Math.floor(targetFileRows));
  const scope = statsScopeOf(configuration);
  const byName = new Map(schema.fields.map((f) => [f.name, f]));
  const partFields = partitionColumns.map((c) => byName.get(c)!);
  const dataFields: StructField[] = schema.fields.filter((f) => !partitionColumns.includes(f.name));
  const pvExprs = partFields.map((f) => partitionValueSql(f.name, f.type));
  const groups = await queryJson(
    conn,
    pvExprs.length
      ? `SELECT ${pvExprs.map((e, i) => `${e} AS pv${i}`).join(', ')}, count(*) AS n FROM ${table} GROUP BY ALL ORDER BY ALL`
      : `SELECT count(*) AS n FROM ${table}`,
  );
  const dataCols = dataFields.map((f) => quoteIdent(f.name)).join(', ');
  const written = await collectDataFiles(storage, async (tmpDir, add) => {
    // One file per (partition, chunk of `target` rows). Chunks number rows by rowid, so the
    // separate queries of one group partition its rows exactly.
    const parts: { values: Record<string, string | null>; subset: string }[] = [];
    for (const g of groups) {
      const n = Number(g.n);
      if (n === 0) continue;
      const values: Record<string, string | null> = {};
      const where: string[] = ['true'];
      partFields.forEach((f, i) => {
        const v = g[`pv${i}`] === null ? null : String(g[`pv${i}`]);
        values[f.name] = v;
        where.push(v === null ? `${pvExprs[i]} IS NULL` : `${pvExprs[i]} = ${quoteLiteral(v)}`);
      });
      const chunks = Math.ceil(n / target);
      for (let k = 0; k < chunks; k++) {
        const qualify = chunks > 1 ? ` QUALIFY (row_number() OVER (ORDER BY rowid) - 1) // ${target} = ${k}` : '';
        parts.push({ values, subset: `(SELECT ${dataCols} FROM ${table} WHERE ${where.join(' AND ')}${qualify})` });
      }
    }
    for (let i = 0; i < parts.length; i++) {
      const { values, subset } = parts[i];
      const local = path.join(tmpDir, `part-${i}.parquet`);
      await conn.run(`COPY ${subset} TO ${quoteLiteral(local)} (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)`);
      const dir = partFields.length ? partitionDir(partitionColumns, values) : '';
      add(await addDataFile(conn, storage, local, `${subset} __rl_s`, dir, values, dataFields, scope, dataChange));
    }
  });
  const { nullCounts } = written;
  // Null counts for partition columns (they are not in the files but NOT NULL still applies).
  for (const f of partFields) {
    const [r] = await queryJson(conn, `SELECT CAST(count(*) - count(${quoteIdent(f.name)}) AS VARCHAR) AS n FROM ${table}`);
    nullCounts.set(f.name, Number(r.n));
  }
  return written;
}

/**
 * Uploads one local Parquet file as a data file under `dir` with a fresh unique name
 * and returns its add action; stats come from `statsFrom` (SQL over the same rows).
 */
async function addDataFile(
  conn: DuckDBConnection,
  storage: Storage,
  local: string,
  statsFrom: string,
  dir: string,
  partitionValues: Record<string, string | null>,
  dataFields: StructField[],
  scope: ReturnType<typeof statsScopeOf>,
  dataChange: boolean,
): Promise<{ add: AddFile; rows: number; nullCounts: Map<string, number> }> {
  const name = `part-${randomUUID()}.c000.zstd.parquet`;
  const rel = dir ? `${dir}/${name}` : name;
  const stats = await computeStats(conn, statsFrom, dataFields, scope);
  const size = (await fs.stat(local)).size;
  await storage.uploadLocal(local, rel);
  return {
    add: { path: encodeActionPath(rel), partitionValues, size, modificationTime: Date.now(), dataChange, stats: stats.json },
    rows: stats.numRecords,
    nullCounts: stats.nullCounts,
  };
}

/**
 * The unpartitioned write path: the rows go from `rowsSql` straight into Parquet files
 * (no staging table), so a commit's memory is a few row groups, not the whole commit.
 * DuckDB splits the output into files of up to `targetFileRows` rows; each file's stats
 * are computed from the file itself. Row order is kept.
 */
export async function writeStreamedFiles(
  conn: DuckDBConnection,
  storage: Storage,
  rowsSql: string,
  dataFields: StructField[],
  dataChange: boolean,
  configuration: Record<string, string> = {},
  targetFileRows = DEFAULT_TARGET_FILE_ROWS,
  rowGroupRows = DEFAULT_ROW_GROUP_ROWS,
): Promise<WrittenFiles> {
  const scope = statsScopeOf(configuration);
  // DuckDB fills row groups with whole chunks of its input (up to 2,048 rows, a vector)
  // and splits files at row-group boundaries: row groups of whole vectors, as many per
  // file as fit in the target. Fewer rows than a vector only where the input comes in
  // smaller chunks (rows of large results, in files of a few MB each, see the sink):
  // a row group then holds whole chunks up to that many rows or just past it.
  const target = Math.max(STREAMED_MIN_TARGET_ROWS, Math.floor(targetFileRows));
  const wanted = Math.max(1, Math.floor(Math.min(target, rowGroupRows)));
  const rowGroup = wanted < VECTOR_ROWS ? wanted : Math.floor(wanted / VECTOR_ROWS) * VECTOR_ROWS;
  const groupsPerFile = Math.max(1, Math.floor(target / rowGroup));
  return collectDataFiles(storage, async (tmpDir, add) => {
    const out = path.join(tmpDir, 'out');
    await conn.run(
      `COPY (${rowsSql}) TO ${quoteLiteral(out)} (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, ` +
        `ROW_GROUP_SIZE ${rowGroup}, ROW_GROUPS_PER_FILE ${groupsPerFile}, FILENAME_PATTERN 'part_{i}')`,
    );
    // part_0, part_1, … in the order DuckDB wrote them (numeric, not lexical).
    const names = (await fs.readdir(out).catch(() => [] as string[]))
      .filter((n) => n.endsWith('.parquet'))
      .sort((a, b) => Number(/\d+/.exec(a)?.[0]) - Number(/\d+/.exec(b)?.[0]));
    for (const n of names) {
      const local = path.join(out, n);
      const file = await addDataFile(conn, storage, local, `read_parquet(${quoteLiteral(local)}) __rl_s`, '', {}, dataFields, scope, dataChange);
      if (file.rows > 0) add(file); // an empty input can leave an empty file: nothing to add
    }
  });
}

type DataFile = Awaited<ReturnType<typeof addDataFile>>;

/**
 * Runs `write` with a scratch directory and sums the data files it adds. If it fails,
 * the files already uploaded are deleted (they would otherwise wait for a vacuum).
 */
async function collectDataFiles(storage: Storage, write: (tmpDir: string, add: (f: DataFile) => void) => Promise<void>): Promise<WrittenFiles> {
  const tmpDir = await fs.mkdtemp(path.join(os.tmpdir(), 'restlake-write-'));
  const written: WrittenFiles = { adds: [], rows: 0, nullCounts: new Map() };
  try {
    await write(tmpDir, (f) => {
      written.adds.push(f.add);
      written.rows += f.rows;
      for (const [k, n] of f.nullCounts) written.nullCounts.set(k, (written.nullCounts.get(k) ?? 0) + n);
    });
    return written;
  } catch (e) {
    await Promise.all(written.adds.map((a) => storage.delete(decodeURIComponent(a.path)).catch(() => undefined)));
    throw e;
  } finally {
    await fs.rm(tmpDir, { recursive: true, force: true });
  }
}
