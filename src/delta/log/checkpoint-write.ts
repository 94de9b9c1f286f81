// Classic single-file V1 checkpoints in the layout delta-spark writes (the `checkpointSchema` in its
// _last_checkpoint): struct columns txn, add, remove, metaData, protocol, domainMetadata; maps as Parquet
// MAPs; stats as a JSON string (unless delta.checkpoint.writeStatsAsJson=false); with
// delta.checkpoint.writeStatsAsStruct=true also the typed add.partitionValues_parsed and add.stats_parsed
// (checkpoint-parsed.ts). One action per row, all other columns null. Tables with writer features we do
// not support get no checkpoint from us.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { withInternalConnection } from '../duck.js';
import { quoteIdent, quoteLiteral } from '../schema/duckdb-types.js';
import type { Storage } from '../storage/types.js';
import type { Action } from './actions.js';
import { assertWriterProtocol } from './features.js';
import { LAST_CHECKPOINT, classicCheckpointFile } from './names.js';
import type { Snapshot } from './snapshot.js';
import { parseIntervalMs } from './interval.js';
import { type ParsedColumns, canonicalPartitions, parsedColumns, parsedFieldsSql } from './checkpoint-parsed.js';

const MAP = 'MAP(VARCHAR, VARCHAR)';
const DV = { storageType: 'VARCHAR', pathOrInlineDv: 'VARCHAR', offset: 'INTEGER', sizeInBytes: 'INTEGER', cardinality: 'BIGINT', maxRowIndex: 'BIGINT' };

/** Column -> json_transform structure; the key order is the Parquet column order. */
export const CHECKPOINT_STRUCTURE = {
  txn: { appId: 'VARCHAR', version: 'BIGINT', lastUpdated: 'BIGINT' },
  add: {
    path: 'VARCHAR', partitionValues: MAP, size: 'BIGINT', modificationTime: 'BIGINT', dataChange: 'BOOLEAN', stats: 'VARCHAR',
    tags: MAP, deletionVector: DV, baseRowId: 'BIGINT', defaultRowCommitVersion: 'BIGINT', clusteringProvider: 'VARCHAR',
  },
  remove: {
    path: 'VARCHAR', deletionTimestamp: 'BIGINT', dataChange: 'BOOLEAN', extendedFileMetadata: 'BOOLEAN', partitionValues: MAP,
    size: 'BIGINT', deletionVector: DV, baseRowId: 'BIGINT', defaultRowCommitVersion: 'BIGINT',
  },
  metaData: {
    id: 'VARCHAR', name: 'VARCHAR', description: 'VARCHAR', format: { provider: 'VARCHAR', options: MAP }, schemaString: 'VARCHAR',
    partitionColumns: ['VARCHAR'], configuration: MAP, createdTime: 'BIGINT',
  },
  protocol: { minReaderVersion: 'INTEGER', minWriterVersion: 'INTEGER', readerFeatures: ['VARCHAR'], writerFeatures: ['VARCHAR'] },
  domainMetadata: { domain: 'VARCHAR', configuration: 'VARCHAR', removed: 'BOOLEAN' },
};

/**
 * V2-spec checkpoints (tables with the v2Checkpoint feature) add the checkpointMetadata column;
 * without JSON stats (delta.checkpoint.writeStatsAsJson=false) the add struct has no `stats` field.
 */
function structureFor(v2: boolean, jsonStats: boolean): Record<string, unknown> {
  const { stats: _stats, ...addWithoutStats } = CHECKPOINT_STRUCTURE.add;
  const base = jsonStats ? CHECKPOINT_STRUCTURE : { ...CHECKPOINT_STRUCTURE, add: addWithoutStats };
  return v2 ? { ...base, checkpointMetadata: { version: 'BIGINT', tags: MAP } } : base;
}

/** A boolean table property as Spark reads it (case-insensitive true/false), else the default. */
function boolProperty(snap: Snapshot, key: string, dflt: boolean): boolean {
  const v = snap.configuration[key]?.trim().toLowerCase();
  return v === 'true' ? true : v === 'false' ? false : dflt;
}

/** Which stats forms the checkpoint carries: delta.checkpoint.writeStatsAsJson (default true) and ...AsStruct (default false). */
function checkpointStatsForms(snap: Snapshot): { json: boolean; struct: boolean } {
  return {
    json: boolProperty(snap, 'delta.checkpoint.writeStatsAsJson', true),
    struct: boolProperty(snap, 'delta.checkpoint.writeStatsAsStruct', false),
  };
}

/**
 * The SELECT list of the checkpoint over `t`, the json_transform of each action line. With struct stats
 * the add struct is rebuilt: its fields, then partitionValues_parsed (partitioned tables only) and
 * stats_parsed, both derived from the line (canonical partition strings, the stats JSON, which is read
 * even when its JSON form is not written).
 */
function selectList(struct: Record<string, unknown>, parsed: ParsedColumns | null, jsonStats: boolean): string {
  return Object.keys(struct).map((c) => {
    if (c !== 'add' || !parsed) return `t.${c}`;
    const add = 't."add"';
    const fields = Object.keys(CHECKPOINT_STRUCTURE.add).filter((k) => jsonStats || k !== 'stats').map((k) => `${quoteIdent(k)} := ${add}.${quoteIdent(k)}`);
    return `CASE WHEN ${add} IS NULL THEN NULL ELSE struct_pack(${[...fields, ...parsedFieldsSql(add, parsed)].join(', ')}) END AS "add"`;
  }).join(', ');
}

export function usesV2Checkpoints(snap: Snapshot): boolean {
  return (snap.protocol.writerFeatures ?? []).includes('v2Checkpoint');
}

const DEFAULT_TOMBSTONE_RETENTION_MS = 7 * 24 * 3600 * 1000;

/** The actions a checkpoint of `snap` holds: protocol, metaData, txns, domains, live adds, unexpired tombstones. */
export function checkpointActions(snap: Snapshot, now: number): Action[] {
  const retention = parseIntervalMs(snap.configuration['delta.deletedFileRetentionDuration']) ?? DEFAULT_TOMBSTONE_RETENTION_MS;
  const out: Action[] = [{ protocol: snap.protocol }, { metaData: snap.metadata }];
  // A classic-named checkpoint of a v2Checkpoint table follows the V2 spec: exactly one checkpointMetadata.
  if (usesV2Checkpoints(snap)) out.unshift({ checkpointMetadata: { version: snap.version } });
  for (const [appId, version] of snap.appTransactions) out.push({ txn: { appId, version } });
  for (const d of snap.domainMetadata.values()) out.push({ domainMetadata: d });
  for (const a of snap.files) out.push({ add: { ...a, dataChange: false } });
  for (const r of snap.tombstones) {
    if ((r.deletionTimestamp ?? 0) > now - retention) {
      // Checkpoint tombstones carry no stats or tags (PROTOCOL.md "Checkpoints").
      const { stats: _s, tags: _t, ...rest } = r;
      out.push({ remove: { ...rest, dataChange: false } });
    }
  }
  return out;
}

export async function writeCheckpoint(storage: Storage, snap: Snapshot, now = Date.now()): Promise<void> {
  // Only the protocol half of the writer check: a checkpoint copies the state as it is and writes no data,
  // so content rules (column mapping, constraints, append-only, ...) do not apply to it.
  assertWriterProtocol(snap.protocol, storage.root, 'write a checkpoint of');
  const forms = checkpointStatsForms(snap);
  const parsed = forms.struct ? parsedColumns(snap, storage.root) : null;
  const actions = checkpointActions(snap, now);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'restlake-ckpt-'));
  try {
    const jsonFile = path.join(dir, 'actions.ndjson');
    // Each line wraps one action under its column name; json_transform turns it into typed structs.
    // For partitionValues_parsed an add line also carries its canonical partition strings.
    const line = (a: Action): string => JSON.stringify(parsed?.partitions.length && 'add' in a ? { add: { ...a.add, partitionValues_parsed: canonicalPartitions(a.add, parsed) } } : a);
    await fs.writeFile(jsonFile, actions.map(line).join('\n') + '\n');
    const out = path.join(dir, `${randomUUID()}.parquet`);
    const v2 = usesV2Checkpoints(snap);
    const struct = structureFor(v2, forms.json);
    // With struct stats the lines are read with every add field (stats too) and the partition strings.
    const pv = parsed?.partitions.length ? { partitionValues_parsed: Object.fromEntries(parsed.partitions.map((p) => [p.physical, 'VARCHAR'])) } : {};
    const readStruct = parsed ? { ...struct, add: { ...CHECKPOINT_STRUCTURE.add, ...pv } } : struct;
    await withInternalConnection(async (conn) => {
      // A `timestamp` statistic without zone is UTC: checkpoint-read.ts gives such stats_parsed values
      // (Parquet timestamps not adjusted to UTC, e.g. INT96) without one.
      await conn.run(`SET TimeZone = 'UTC'`);
      await conn.run(
        `COPY (SELECT ${selectList(struct, parsed, forms.json)} FROM (SELECT json_transform(json, ${quoteLiteral(JSON.stringify(readStruct))}) AS t ` +
          `FROM read_ndjson_objects(${quoteLiteral(jsonFile)}))) TO ${quoteLiteral(out)} (FORMAT parquet, COMPRESSION snappy)`,
      );
    });
    const data = await fs.readFile(out);
    await storage.write(classicCheckpointFile(snap.version), data);
    const numOfAddFiles = snap.files.length;
    const last = { version: snap.version, size: actions.length, sizeInBytes: data.length, numOfAddFiles };
    // Never move _last_checkpoint backwards (a slow writer may finish after a newer checkpoint).
    const prev = await storage.read(LAST_CHECKPOINT).catch(() => null);
    if (prev) {
      try {
        const p = JSON.parse(prev.toString('utf8')) as { version?: number };
        if (typeof p.version === 'number' && p.version > snap.version) return;
      } catch {
        // corrupt: overwrite
      }
    }
    await storage.write(LAST_CHECKPOINT, Buffer.from(JSON.stringify(last)));
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
