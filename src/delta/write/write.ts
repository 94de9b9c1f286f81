// DeltaTable.write: stage the rows, write data files, commit add (and, for overwrite, remove) actions
// with commitInfo, creating the table on first write. Losing a commit race re-tries at the next version.
import type { DuckDBConnection } from '@duckdb/node-api';
import { randomUUID } from 'node:crypto';
import { DeltaError } from '../errors.js';
import { queryJson } from '../duck.js';
import type { Action, AddFile, Metadata, Protocol, RemoveFile } from '../log/actions.js';
import { parseJsonLines } from '../log/commit-read.js';
import { decodeActionPath } from '../log/actions.js';
import { TxnAlreadyCommitted, commitActions } from '../log/commit.js';
import { assertWritable, inCommitTimestampsEnabled } from '../log/features.js';
import { commitFile } from '../log/names.js';
import { listLog, type Snapshot } from '../log/snapshot.js';
import { schemaToJson } from '../schema/json.js';
import { quoteIdent, toDuckDbType } from '../schema/duckdb-types.js';
import type { StructType } from '../schema/types.js';
import { existingTableStorage, type Storage } from '../storage/types.js';
import { ENGINE_INFO } from '../version.js';
import { DEFAULT_TARGET_FILE_ROWS, STREAMED_MIN_TARGET_ROWS, stageSql, writeStagedFiles, writeStreamedFiles } from './files.js';
import { containsType, reconcileSchema, sameType } from './schema-check.js';

export interface WriteOptions {
  selectSql: string;
  schema: StructType;
  partitionColumns?: string[];
  mode: 'append' | 'overwrite';
  targetFileRows?: number;
  /** Rows per Parquet row group (unpartitioned writes); smaller holds less in memory. Default DuckDB's 122,880. */
  rowGroupRows?: number;
  configuration?: Record<string, string>;
  mergeSchema?: boolean;
  /**
   * With mode overwrite: a schema (and partitioning) other than the table's replaces it,
   * as Spark's overwriteSchema does; the overwrite removes every old file in the same commit.
   */
  overwriteSchema?: boolean;
  operation?: string;
  operationParameters?: Record<string, unknown>;
  txn?: { appId: string; version: number };
  engineInfo?: string;
  /**
   * The table must exist at this version or later (the caller saw it there): deleted, or
   * replaced by an older copy, it is not quietly started again (TableGoneError).
   */
  minVersion?: number;
  /** A caller's view of the commits other writers make around this write (see WriteObserver). */
  observer?: WriteObserver;
  /**
   * With `minVersion`: the table's id (metaData.id) the caller saw. Another table in its
   * place (deleted and created again, by anyone) is not written to (TableGoneError).
   */
  tableId?: string;
}

/**
 * Lets a caller keep rows of its own out of a table that concurrent writers fill too (a
 * commit's rows must not repeat what another writer committed): it sees the table the write
 * plans against, every commit that lands between that and this write's own, and what this
 * write added.
 */
export interface WriteObserver {
  /**
   * The table the write plans against (null: none yet), before the rows query runs. It may
   * return the rows query to run instead of `selectSql`, one that depends on what it saw.
   */
  planned?(snap: Snapshot | null): Promise<string | void>;
  /**
   * A commit another writer made after `planned`'s snapshot and before this write's commit,
   * with the files this write adds. Throwing abandons the write (its files are deleted) and
   * the error reaches the caller; otherwise the commit is tried at the next version.
   */
  concurrent?(theirs: Action[], version: number, ours: AddFile[]): Promise<void>;
  /** This write committed `version`, adding `ours`. */
  committed?(version: number, ours: AddFile[]): void;
}

/**
 * DELTA_TABLE_GONE: the table a write expected is not there. `latest` is what the log
 * holds now (null: no table); `why`: 'gone' (no table), 'older' (a version before
 * `minVersion`: replaced by an older copy), 'replaced' (deleted, or another table put in
 * its place, while or since it was last read: the log lacks the version the write read,
 * or has another table id).
 */
export class TableGoneError extends DeltaError {
  readonly why: 'gone' | 'older' | 'replaced';
  constructor(root: string, readonly latest: number | null, minVersion: number, why?: 'replaced') {
    const w = latest === null ? 'gone' : (why ?? 'older');
    super(
      'DELTA_TABLE_GONE',
      w === 'replaced'
        ? `${root}: the table at version ${minVersion} was deleted or replaced (the log now ${latest === null ? 'holds no table' : `ends at version ${latest}`})`
        : `${root}: ${latest === null ? 'no table' : `version ${latest}`} where version ${minVersion} or later was expected`,
    );
    this.why = w;
  }
}

export interface WriteResult {
  version: number;
  files: number;
  rows: number;
  skipped: boolean;
  /** The table's id (metaData.id) the rows went to. */
  tableId: string;
}

function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** `storage` whose writes, failing with ENOENT, throw what `vanished` finds instead (when it finds something). */
function goneAware(storage: Storage, vanished: () => Promise<Error | null>): Storage {
  const guard = async <T>(op: Promise<T>): Promise<T> => {
    try {
      return await op;
    } catch (e) {
      if (isNotFound(e)) throw (await vanished().catch(() => null)) ?? e;
      throw e;
    }
  };
  return {
    root: storage.root,
    read: (p) => storage.read(p),
    putIfAbsent: (p, d) => guard(storage.putIfAbsent(p, d)),
    write: (p, d) => guard(storage.write(p, d)),
    list: (p, o) => storage.list(p, o),
    delete: (p) => storage.delete(p),
    localPath: (p) => storage.localPath(p),
    uploadLocal: (l, p) => guard(storage.uploadLocal(l, p)),
    stat: (p) => storage.stat(p),
    forExistingTable: () => storage,
  };
}

export interface WriteContext {
  storage: Storage;
  /** Latest snapshot, or null when the table does not exist yet. */
  loadLatest(): Promise<Snapshot | null>;
  afterCommit(version: number, configuration: Record<string, string>): Promise<void>;
}

export async function writeTable(ctx: WriteContext, conn: DuckDBConnection, opts: WriteOptions): Promise<WriteResult> {
  if (opts.mode !== 'append' && opts.mode !== 'overwrite') throw new DeltaError('DELTA_INVALID_ARGUMENT', `write mode must be append or overwrite, got ${String(opts.mode)}`);
  const snap = await ctx.loadLatest();
  if (opts.minVersion !== undefined && (snap === null || snap.version < opts.minVersion)) {
    throw new TableGoneError(ctx.storage.root, snap?.version ?? null, opts.minVersion);
  }
  if (opts.minVersion !== undefined && opts.tableId !== undefined && snap && snap.metadata.id !== opts.tableId) {
    throw new TableGoneError(ctx.storage.root, snap.version, opts.minVersion, 'replaced');
  }
  if (opts.txn && snap && (snap.appTransactions.get(opts.txn.appId) ?? -Infinity) >= opts.txn.version) {
    return { version: snap.version, files: 0, rows: 0, skipped: true, tableId: snap.metadata.id };
  }
  // The table this write read, deleted while it writes: gone, or another table in its place.
  const vanished = async (): Promise<TableGoneError | null> => {
    if (!snap || (await ctx.storage.stat(commitFile(snap.version))) !== null) return null;
    return new TableGoneError(ctx.storage.root, (await listLog(ctx.storage)).latest, opts.minVersion ?? snap.version, 'replaced');
  };
  // Only the write that creates the table may create its directories: to a table that
  // exists, a root or _delta_log deleted meanwhile fails the write (ENOENT, then
  // TableGoneError) instead of growing a half table whose log lacks its first versions.
  const storage = snap ? goneAware(existingTableStorage(ctx.storage), vanished) : ctx.storage;
  const partitionColumns = opts.partitionColumns ?? snap?.partitionColumns ?? [];
  const { schema, metadata, protocol } = planSchema(snap, opts, storage.root);
  const selectSql = (await opts.observer?.planned?.(snap)) || opts.selectSql;

  // Stage: the select's columns, cast to the table types, in table order (absent columns as NULL).
  const described = await queryJson(conn, `DESCRIBE ${selectSql}`).catch((e: Error) => {
    throw new DeltaError('DELTA_INVALID_ARGUMENT', `cannot run the rows query for ${storage.root}: ${e.message}`, { cause: e });
  });
  const present = new Map(described.map((r) => [String(r.column_name).toLowerCase(), String(r.column_name)]));
  const declared = new Set(opts.schema.fields.map((f) => f.name.toLowerCase()));
  const undeclared = [...present.keys()].filter((k) => !declared.has(k));
  const absent = opts.schema.fields.filter((f) => !present.has(f.name.toLowerCase())).map((f) => f.name);
  if (undeclared.length || absent.length) {
    throw new DeltaError('DELTA_SCHEMA_MISMATCH', `the rows query does not match the given schema: ${[
      absent.length ? `missing ${absent.join(', ')}` : '',
      undeclared.length ? `undeclared ${undeclared.map((k) => present.get(k)).join(', ')}` : '',
    ].filter(Boolean).join('; ')}`);
  }
  const exprs = schema.fields.map((f) => {
    const src = present.get(f.name.toLowerCase());
    return src === undefined
      ? `CAST(NULL AS ${toDuckDbType(f.type)}) AS ${quoteIdent(f.name)}`
      : `CAST(__rl_src.${quoteIdent(src)} AS ${toDuckDbType(f.type)}) AS ${quoteIdent(f.name)}`;
  });
  const configuration = (metadata ?? snap?.metadata)?.configuration ?? {};
  const targetFileRows = opts.targetFileRows ?? DEFAULT_TARGET_FILE_ROWS;
  let written;
  if (partitionColumns.length === 0 && targetFileRows >= STREAMED_MIN_TARGET_ROWS) {
    // Unpartitioned: stream the rows into Parquet, nothing staged.
    const rowsSql = `SELECT ${exprs.join(', ')} FROM (${selectSql}) __rl_src`;
    written = await writeStreamedFiles(conn, storage, rowsSql, schema.fields, true, configuration, targetFileRows, opts.rowGroupRows);
  } else {
    // Partitioned, or files smaller than DuckDB can split a stream into: stage once,
    // then one query per (partition value, chunk of targetFileRows).
    const stage = `__rl_stage_${randomUUID().replaceAll('-', '')}`;
    await conn.run(stageSql(stage, selectSql, exprs));
    try {
      written = await writeStagedFiles(conn, storage, stage, schema, partitionColumns, true, configuration, targetFileRows);
    } finally {
      await conn.run(`DROP TABLE IF EXISTS ${stage}`);
    }
  }
  const cleanup = (): Promise<unknown> => Promise.all(written.adds.map((a) => storage.delete(decodeActionPath(a.path)).catch(() => undefined)));

  const violated = schema.fields.filter((f) => !f.nullable && (written.nullCounts.get(f.name) ?? 0) > 0).map((f) => f.name);
  if (violated.length) {
    await cleanup();
    throw new DeltaError('DELTA_NOT_NULL_VIOLATION', `NULL values in non-nullable columns ${violated.join(', ')} of ${storage.root}`);
  }

  const now = Date.now();
  const removes: RemoveFile[] = opts.mode === 'overwrite' && snap ? snap.files.map((a) => removeFor(a, now, true)) : [];
  const commitInfo = {
    timestamp: now,
    operation: opts.operation ?? 'WRITE',
    operationParameters: stringifyParams({ mode: opts.mode === 'append' ? 'Append' : 'Overwrite', partitionBy: JSON.stringify(partitionColumns), ...opts.operationParameters }),
    ...(snap ? { readVersion: snap.version } : {}),
    isolationLevel: 'Serializable',
    isBlindAppend: opts.mode === 'append',
    operationMetrics: {
      numFiles: String(written.adds.length),
      numOutputRows: String(written.rows),
      numOutputBytes: String(written.adds.reduce((s, a) => s + a.size, 0)),
      ...(removes.length ? { numRemovedFiles: String(removes.length) } : {}),
    },
    engineInfo: opts.engineInfo ?? ENGINE_INFO,
    txnId: randomUUID(),
  };
  const actions: Action[] = [{ commitInfo }];
  if (protocol) actions.push({ protocol });
  if (metadata) actions.push({ metaData: metadata });
  if (opts.txn) actions.push({ txn: { appId: opts.txn.appId, version: opts.txn.version, lastUpdated: now } });
  for (const r of removes) actions.push({ remove: r });
  for (const a of written.adds) actions.push({ add: a });

  let version: number;
  try {
    const concurrent = opts.observer?.concurrent?.bind(opts.observer);
    version = await commitActions(storage, actions, {
      readVersion: snap ? snap.version : -1,
      inCommitTimestamps: inCommitTimestampsEnabled(metadata ?? snap!.metadata),
      onConcurrentCommit: concurrent && ((theirs, v) => concurrent(theirs, v, written.adds)),
    });
  } catch (e) {
    await cleanup();
    if (e instanceof TxnAlreadyCommitted) return { version: e.atVersion, files: 0, rows: 0, skipped: true, tableId: snap ? snap.metadata.id : await tableIdOf(ctx.storage, metadata!.id) };
    throw e;
  }
  // The log must still hold the version this write read: deleted under the commit (an
  // `rm -rf` still running as the commit landed), the commit would be the first entry of
  // a half table no reader can use. It is taken back, data files too (nobody can rely on
  // a table whose log was deleted), and the write fails.
  if (snap && (await ctx.storage.stat(commitFile(snap.version))) === null) {
    await storage.delete(commitFile(version)).catch(() => undefined);
    await cleanup();
    throw (await vanished()) ?? new TableGoneError(ctx.storage.root, null, opts.minVersion ?? snap.version);
  }
  opts.observer?.committed?.(version, written.adds);
  await ctx.afterCommit(version, (metadata ?? snap?.metadata)?.configuration ?? {});
  // A write that created the table and lost the race to another creator committed as an
  // append to that one's table (its own metaData dropped): the id is the table's.
  const tableId = snap ? (metadata ?? snap.metadata).id : version === 0 ? metadata!.id : await tableIdOf(ctx.storage, metadata!.id);
  return { version, files: written.adds.length, rows: written.rows, skipped: false, tableId };
}

/** The table id commit 0 holds (`fallback` when it cannot be read). */
async function tableIdOf(storage: Storage, fallback: string): Promise<string> {
  const buf = await storage.read(commitFile(0)).catch(() => null);
  if (!buf) return fallback;
  for (const a of parseJsonLines(buf, commitFile(0))) if ('metaData' in a) return a.metaData.id;
  return fallback;
}

/**
 * The schema, and any new metadata/protocol, a write of `opts` commits with against the
 * latest snapshot (null: a new table); throws DELTA_SCHEMA_MISMATCH / DELTA_UNSUPPORTED_FEATURE
 * when the write cannot go to this table. Nothing is written: callers also run it before
 * producing any rows (DeltaTable.checkWrite), so a run fails before it sends anything.
 */
export function planSchema(
  snap: Snapshot | null,
  opts: Pick<WriteOptions, 'schema' | 'mode' | 'partitionColumns' | 'mergeSchema' | 'overwriteSchema' | 'configuration'>,
  root: string,
): { schema: StructType; metadata: Metadata | null; protocol: Protocol | null } {
  const partitionColumns = opts.partitionColumns ?? snap?.partitionColumns ?? [];
  if (opts.overwriteSchema && opts.mode !== 'overwrite') {
    throw new DeltaError('DELTA_INVALID_ARGUMENT', `overwriteSchema needs mode overwrite (${root})`);
  }
  if (snap && opts.overwriteSchema && !sameShape(snap, opts.schema, partitionColumns)) {
    // The table keeps its id and configuration; its schema and partitioning are the new ones.
    assertWritable(snap.protocol, snap.metadata, snap.schema, root, { removesData: true });
    validateNewSchema(opts.schema, partitionColumns, root);
    return { schema: opts.schema, metadata: { ...snap.metadata, schemaString: schemaToJson(opts.schema), partitionColumns }, protocol: ntzUpgrade(snap.protocol, opts.schema) };
  }
  if (snap) {
    if (opts.partitionColumns && JSON.stringify(opts.partitionColumns) !== JSON.stringify(snap.partitionColumns)) {
      throw new DeltaError('DELTA_SCHEMA_MISMATCH', `partition columns [${opts.partitionColumns.join(', ')}] differ from the table's [${snap.partitionColumns.join(', ')}] at ${root}`);
    }
    assertWritable(snap.protocol, snap.metadata, snap.schema, root, { removesData: opts.mode === 'overwrite' });
    const r = reconcileSchema(snap.schema, opts.schema, opts.mergeSchema === true, root);
    if (r.added.length === 0) return { schema: r.schema, metadata: null, protocol: null };
    return { schema: r.schema, metadata: { ...snap.metadata, schemaString: schemaToJson(r.schema) }, protocol: ntzUpgrade(snap.protocol, r.schema) };
  }
  validateNewSchema(opts.schema, partitionColumns, root);
  return {
    schema: opts.schema,
    protocol: newTableProtocol(opts.schema, opts.configuration ?? {}),
    metadata: {
      id: randomUUID(),
      format: { provider: 'parquet', options: {} },
      schemaString: schemaToJson(opts.schema),
      partitionColumns,
      configuration: opts.configuration ?? {},
      createdTime: Date.now(),
    },
  };
}

/**
 * The protocol of a new table: 1/2, or writer version 7 listing its features when the schema has
 * timestamp_ntz (reader feature too, so 3/7) or the configuration turns on in-commit timestamps (PROTOCOL.md
 * "In-Commit Timestamps": the table property alone does not enable them). Enabled from version 0, the
 * table needs no inCommitTimestampEnablement* properties (no commit is without one). Like Spark, the
 * features writer version 2 implied (appendOnly, invariants) stay listed alongside inCommitTimestamp.
 */
function newTableProtocol(schema: StructType, configuration: Record<string, string>): Protocol {
  const ntz = containsType(schema, 'timestamp_ntz');
  const ict = inCommitTimestampsEnabled({ configuration });
  if (!ntz && !ict) return { minReaderVersion: 1, minWriterVersion: 2 };
  const writerFeatures = [...(ntz ? ['timestampNtz'] : []), ...(ict ? ['inCommitTimestamp', 'appendOnly', 'invariants'] : [])];
  return ntz
    ? { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['timestampNtz'], writerFeatures }
    : { minReaderVersion: 1, minWriterVersion: 7, writerFeatures };
}

/** The table's protocol with timestampNtz added when the new schema needs it and it lacks it; null when unchanged. */
function ntzUpgrade(p: Protocol, schema: StructType): Protocol | null {
  return containsType(schema, 'timestamp_ntz') && !hasFeature(p, 'timestampNtz') ? withFeature(p, 'timestampNtz') : null;
}

/** Whether `schema` and `partitionColumns` are the table's own (types compared without metadata). */
function sameShape(snap: Snapshot, schema: StructType, partitionColumns: string[]): boolean {
  if (JSON.stringify(partitionColumns) !== JSON.stringify(snap.partitionColumns)) return false;
  const a = snap.schema.fields;
  const b = schema.fields;
  return a.length === b.length && a.every((f, i) => f.name.toLowerCase() === b[i]!.name.toLowerCase() && f.nullable === b[i]!.nullable && sameType(f.type, b[i]!.type));
}

export function removeFor(a: AddFile, now: number, dataChange: boolean): RemoveFile {
  const r: RemoveFile = {
    path: a.path,
    deletionTimestamp: now,
    dataChange,
    extendedFileMetadata: true,
    partitionValues: a.partitionValues,
    size: a.size,
  };
  if (a.deletionVector) r.deletionVector = a.deletionVector;
  if (a.baseRowId !== undefined && a.baseRowId !== null) r.baseRowId = a.baseRowId;
  if (a.defaultRowCommitVersion !== undefined && a.defaultRowCommitVersion !== null) r.defaultRowCommitVersion = a.defaultRowCommitVersion;
  if (a.stats) r.stats = a.stats;
  return r;
}

/** Spark records operationParameters as strings; keep that so every reader's history view parses them. */
function stringifyParams(p: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(p)) if (v !== undefined) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return out;
}

function hasFeature(p: Protocol, f: string): boolean {
  return p.minReaderVersion === 3 && (p.readerFeatures ?? []).includes(f);
}

/** Adds a reader+writer feature, moving a legacy protocol to 3/7 with the features its versions implied. */
function withFeature(p: Protocol, f: string): Protocol {
  const implied: string[] = [];
  if (p.minWriterVersion < 7) {
    if (p.minWriterVersion >= 2) implied.push('appendOnly', 'invariants');
    if (p.minWriterVersion >= 3) implied.push('checkConstraints');
    if (p.minWriterVersion >= 4) implied.push('changeDataFeed', 'generatedColumns');
    if (p.minWriterVersion >= 5) implied.push('columnMapping');
    if (p.minWriterVersion >= 6) implied.push('identityColumns');
  }
  const readerImplied = p.minReaderVersion === 2 ? ['columnMapping'] : [];
  return {
    minReaderVersion: 3,
    minWriterVersion: 7,
    readerFeatures: [...new Set([...(p.readerFeatures ?? []), ...readerImplied, f])],
    writerFeatures: [...new Set([...(p.writerFeatures ?? []), ...implied, f])],
  };
}

function validateNewSchema(schema: StructType, partitionColumns: string[], where: string): void {
  const seen = new Set<string>();
  for (const f of schema.fields) {
    const k = f.name.toLowerCase();
    if (seen.has(k)) throw new DeltaError('DELTA_SCHEMA_MISMATCH', `column ${f.name} appears twice (names are case-insensitive) in the schema for ${where}`);
    seen.add(k);
  }
  for (const c of partitionColumns) {
    if (!schema.fields.some((f) => f.name === c)) throw new DeltaError('DELTA_SCHEMA_MISMATCH', `partition column ${c} is not in the schema for ${where}`);
  }
  if (partitionColumns.length && partitionColumns.length === schema.fields.length) {
    throw new DeltaError('DELTA_SCHEMA_MISMATCH', `every column of ${where} is a partition column; at least one data column is needed`);
  }
}

