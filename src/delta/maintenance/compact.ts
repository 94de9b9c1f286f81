// Compaction (OPTIMIZE without Z-order): per partition, rewrite small files (and files carrying deletion
// vectors) into files of up to targetFileRows rows. dataChange=false on both sides, so streaming readers
// skip it; it conflicts only with a concurrent commit that removes one of the same files.
import type { DuckDBConnection } from '@duckdb/node-api';
import { randomUUID } from 'node:crypto';
import { DeltaError } from '../errors.js';
import type { Action, AddFile } from '../log/actions.js';
import { decodeActionPath } from '../log/actions.js';
import { commitActions } from '../log/commit.js';
import { assertWritable, inCommitTimestampsEnabled } from '../log/features.js';
import { registerScan } from '../scan/register-scan.js';
import { quoteIdent, toDuckDbType } from '../schema/duckdb-types.js';
import { ENGINE_INFO } from '../version.js';
import { DEFAULT_TARGET_FILE_ROWS, stageSql, writeStagedFiles } from '../write/files.js';
import { removeFor, type WriteContext } from '../write/write.js';

export interface CompactOptions { targetFileRows?: number; minFiles?: number }
export interface CompactResult { version: number | null; removed: number; added: number }

export async function compactTable(ctx: WriteContext, conn: DuckDBConnection, opts: CompactOptions = {}): Promise<CompactResult> {
  const { storage } = ctx;
  const snap = await ctx.loadLatest();
  if (!snap) throw new DeltaError('DELTA_NOT_A_TABLE', `${storage.root} is not a Delta table`);
  assertWritable(snap.protocol, snap.metadata, snap.schema, storage.root, { removesData: false });
  const target = opts.targetFileRows ?? DEFAULT_TARGET_FILE_ROWS;
  const minFiles = Math.max(2, opts.minFiles ?? 2);

  const groups = new Map<string, AddFile[]>();
  for (const f of snap.files) {
    const rows = numRecords(f);
    const small = f.deletionVector ? true : rows === null ? false : rows < target;
    if (!small) continue;
    const key = JSON.stringify(Object.entries(f.partitionValues ?? {}).sort());
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(f);
  }
  const chosen = [...groups.values()].filter((g) => g.length >= minFiles || g.some((f) => f.deletionVector)).flat();
  // A lone file without deletion vector gains nothing from a rewrite.
  if (chosen.length === 0 || (chosen.length === 1 && !chosen[0].deletionVector)) return { version: null, removed: 0, added: 0 };

  const view = `__rl_compact_${randomUUID().replaceAll('-', '')}`;
  const stage = `${view}_stage`;
  await registerScan(conn, storage, { ...snap, files: chosen }, view);
  const exprs = snap.schema.fields.map((f) => `CAST(__rl_src.${quoteIdent(f.name)} AS ${toDuckDbType(f.type)}) AS ${quoteIdent(f.name)}`);
  let written;
  try {
    await conn.run(stageSql(stage, `SELECT * FROM ${quoteIdent(view)}`, exprs));
    written = await writeStagedFiles(conn, storage, stage, snap.schema, snap.partitionColumns, false, snap.configuration, target);
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${stage}`);
    await conn.run(`DROP VIEW IF EXISTS ${quoteIdent(view)}`);
  }
  const now = Date.now();
  const actions: Action[] = [
    {
      commitInfo: {
        timestamp: now,
        operation: 'OPTIMIZE',
        operationParameters: { predicate: '[]', zOrderBy: '[]' },
        readVersion: snap.version,
        isolationLevel: 'SnapshotIsolation',
        isBlindAppend: false,
        operationMetrics: { numRemovedFiles: String(chosen.length), numAddedFiles: String(written.adds.length) },
        engineInfo: ENGINE_INFO,
        txnId: randomUUID(),
      },
    },
    ...chosen.map((f) => ({ remove: removeFor(f, now, false) })),
    ...written.adds.map((a) => ({ add: a })),
  ];
  let version: number;
  try {
    version = await commitActions(storage, actions, { readVersion: snap.version, inCommitTimestamps: inCommitTimestampsEnabled(snap.metadata) });
  } catch (e) {
    await Promise.all(written.adds.map((a) => storage.delete(decodeActionPath(a.path)).catch(() => undefined)));
    throw e;
  }
  await ctx.afterCommit(version, snap.configuration);
  return { version, removed: chosen.length, added: written.adds.length };
}

function numRecords(f: AddFile): number | null {
  if (!f.stats) return null;
  try {
    const n = (JSON.parse(f.stats) as { numRecords?: unknown }).numRecords;
    return typeof n === 'number' ? n : null;
  } catch {
    return null;
  }
}
