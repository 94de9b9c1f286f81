// Reads the actions of a checkpoint (classic, multi-part or V2 with sidecars; Parquet or JSON).
// Parquet rows are turned into the same JSON shape as commit lines, so replay has one code path.
import type { DuckDBConnection } from '@duckdb/node-api';
import { DeltaError } from '../errors.js';
import { queryJson, withInternalConnection } from '../duck.js';
import { fromDuckDbType, quoteIdent, quoteLiteral } from '../schema/duckdb-types.js';
import type { Storage } from '../storage/types.js';
import type { Action, Sidecar } from './actions.js';
import { decodeActionPath } from './actions.js';
import { SIDECAR_DIR } from './names.js';
import { parseJsonLines } from './commit-read.js';
import { statsJsonSql } from './checkpoint-parsed.js';

const ACTION_COLUMNS = ['protocol', 'metaData', 'txn', 'add', 'remove', 'domainMetadata', 'checkpointMetadata', 'sidecar'];

export async function readCheckpointActions(storage: Storage, paths: string[]): Promise<Action[]> {
  const actions: Action[] = [];
  for (const p of paths) {
    actions.push(...(p.endsWith('.json') ? await readJsonCheckpoint(storage, p) : await readParquetActions(storage, p)));
  }
  // V2 spec: file actions may live in sidecars referenced by `sidecar` actions.
  const sidecars = actions.filter((a): a is { sidecar: Sidecar } => 'sidecar' in a).map((a) => a.sidecar);
  const out = actions.filter((a) => !('sidecar' in a) && !('checkpointMetadata' in a));
  for (const sc of sidecars) {
    const rel = sidecarPath(sc.path);
    out.push(...(await readParquetActions(storage, rel)));
  }
  return out;
}

function sidecarPath(p: string): string {
  const decoded = decodeActionPath(p);
  // Writers are encouraged to store the bare file name; tolerate a full path by keeping its last segment.
  const name = decoded.includes('/') ? decoded.slice(decoded.lastIndexOf('/') + 1) : decoded;
  return `${SIDECAR_DIR}/${name}`;
}

async function readJsonCheckpoint(storage: Storage, rel: string): Promise<Action[]> {
  const buf = await storage.read(rel);
  if (!buf) throw new DeltaError('DELTA_CORRUPT_LOG', `checkpoint ${rel} disappeared while reading ${storage.root}`);
  return parseJsonLines(buf, rel);
}

async function readParquetActions(storage: Storage, rel: string): Promise<Action[]> {
  const local = await storage.localPath(rel);
  return withInternalConnection(async (conn) => {
    const src = `read_parquet(${quoteLiteral(local)})`;
    let cols: { name: string; type: string }[];
    try {
      cols = (await queryJson(conn, `DESCRIBE SELECT * FROM ${src}`)).map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
    } catch (e) {
      throw new DeltaError('DELTA_CORRUPT_LOG', `cannot read checkpoint ${rel} of ${storage.root}: ${(e as Error).message}`, { cause: e });
    }
    const present = ACTION_COLUMNS.filter((c) => cols.some((x) => x.name === c));
    if (present.length === 0) return [];
    // One JSON document per non-null action column; the *_parsed columns are dropped (we use the JSON forms,
    // except stats_parsed standing in for absent JSON stats).
    const select = present.map((c) => `CASE WHEN ${quoteIdent(c)} IS NULL THEN NULL ELSE to_json(${quoteIdent(c)}) END AS ${quoteIdent(c)}`);
    const parsedStats = await statsFromParsedSql(conn, src, cols.find((x) => x.name === 'add')?.type);
    if (parsedStats) select.push(`${parsedStats} AS "__stats_parsed"`);
    const rows = await queryJson(conn, `SELECT ${select.join(', ')} FROM ${src}`);
    const out: Action[] = [];
    for (const row of rows) {
      for (const c of present) {
        const v = row[c];
        if (v === null || v === undefined) continue;
        const obj = JSON.parse(String(v)) as Record<string, unknown>;
        // A struct column whose fields are all null is an absent action (some writers fill structs this way).
        if (Object.values(obj).every((x) => x === null)) continue;
        const action = stripNulls(obj);
        // Without the JSON form (writeStatsAsJson=false) the stats come from stats_parsed.
        if (c === 'add' && action.stats === undefined && typeof row.__stats_parsed === 'string') action.stats = row.__stats_parsed;
        out.push({ [c]: action } as unknown as Action);
      }
    }
    return out;
  });
}

/**
 * SQL giving add.stats_parsed back as Delta's JSON stats text, when the checkpoint has that column (its
 * type read from the file); null when it has none or a type we cannot turn into JSON stats (left out).
 */
async function statsFromParsedSql(conn: DuckDBConnection, src: string, addType: string | undefined): Promise<string | null> {
  if (!addType || !/\bstats_parsed\s+STRUCT\(/i.test(addType)) return null;
  try {
    const [d] = await queryJson(conn, `DESCRIBE SELECT "add".stats_parsed AS s FROM ${src}`);
    return statsJsonSql('"add".stats_parsed', fromDuckDbType(String(d.column_type)));
  } catch {
    return null;
  }
}

/** Parquet has no "absent": drop null members so actions look like their JSON-commit form. */
function stripNulls(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === null || k === 'partitionValues_parsed' || k === 'stats_parsed') continue;
    out[k] = v;
  }
  // partitionValues may legitimately map a column to null: restore the key set from the raw object.
  if (o.partitionValues && typeof o.partitionValues === 'object') out.partitionValues = o.partitionValues;
  return out;
}
