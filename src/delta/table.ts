// DeltaTable: the entry point. Every operation starts from a fresh listing of the log; the only state
// kept is the newest snapshot built, from which later snapshots replay just the newer commits.
import type { DuckDBConnection } from '@duckdb/node-api';
import { DeltaError } from './errors.js';
import type { Action, AddFile } from './log/actions.js';
import { commitActions } from './log/commit.js';
import { assertWritable, assertWriterProtocol, inCommitTimestampsEnabled } from './log/features.js';
import { writeCheckpoint } from './log/checkpoint-write.js';
import { cleanupExpiredLogs, logCutoffTime, logRetention, type LogCleanupOptions, type LogCleanupResult } from './log/cleanup.js';
import { LOG_DIR } from './log/names.js';
import { type Snapshot, type SnapshotOptions, latestLogVersion, loadSnapshot, probeCommits } from './log/snapshot.js';
import { compactTable, type CompactOptions, type CompactResult } from './maintenance/compact.js';
import { vacuumTable, type VacuumOptions } from './maintenance/vacuum.js';
import { registerScan } from './scan/register-scan.js';
import { openStorage } from './storage/open.js';
import { existingTableStorage, type Storage } from './storage/types.js';
import { planSchema, writeTable, type WriteContext, type WriteOptions, type WriteResult } from './write/write.js';

const DEFAULT_CHECKPOINT_INTERVAL = 10;

export class DeltaTable {
  /** The newest snapshot this object has built; later snapshots continue from it instead of a checkpoint. */
  private latest: Snapshot | null = null;
  /** The cutoff time of this object's last expired-log cleanup: until midnight UTC moves it, there is nothing new to delete. */
  private cleanedUpTo: number | null = null;

  private constructor(readonly storage: Storage) {}

  static forPath(uri: string, storage?: Storage): DeltaTable {
    return new DeltaTable(storage ?? openStorage(uri));
  }

  get root(): string {
    return this.storage.root;
  }

  async exists(): Promise<boolean> {
    return (await this.latestVersion()) !== null;
  }

  /** Highest version in _delta_log (commit or checkpoint), or null when there is no table. */
  async latestVersion(): Promise<number | null> {
    // From the snapshot in hand, the few commits after it are asked for directly; else a listing.
    const probed = this.latest ? await probeCommits(this.storage, this.latest.version) : null;
    return probed ? probed.latest : latestLogVersion(this.storage);
  }

  /** The table at the latest version, at `version`, or at the version current at `timestamp`. */
  async snapshot(opts: SnapshotOptions = {}): Promise<Snapshot> {
    const base = opts.timestamp === undefined && (opts.version === undefined || (this.latest && opts.version >= this.latest.version)) ? this.latest : null;
    const snap = await loadSnapshot(this.storage, opts, base);
    if (!this.latest || snap.version > this.latest.version) this.latest = snap;
    return snap;
  }

  /** The table at the latest version, or null when there is no table at this path. */
  async latestSnapshot(): Promise<Snapshot | null> {
    try {
      return await this.snapshot();
    } catch (e) {
      if (e instanceof DeltaError && e.code === 'DELTA_NOT_A_TABLE') return null;
      throw e;
    }
  }

  /** Creates TEMP VIEW `viewName` on `conn` with the live rows of the snapshot in logical names and types. */
  async registerScan(conn: DuckDBConnection, viewName: string, opts: SnapshotOptions = {}): Promise<Snapshot> {
    const snap = await this.snapshot(opts);
    await registerScan(conn, this.storage, snap, viewName);
    return snap;
  }

  /**
   * Creates TEMP VIEW `viewName` on `conn` with the rows of just `files` (add actions of this
   * table), read under `snap`'s schema, partitioning and column mapping.
   */
  async registerFiles(conn: DuckDBConnection, viewName: string, snap: Snapshot, files: AddFile[]): Promise<void> {
    await registerScan(conn, this.storage, { ...snap, files }, viewName);
  }

  write(conn: DuckDBConnection, opts: WriteOptions): Promise<WriteResult> {
    return writeTable(this.writeContext(), conn, opts);
  }

  /**
   * Throws what `write` with these options would throw about the table itself (schema,
   * partition columns, unsupported writer features), without writing: a producer checks
   * before it computes rows that could then not be committed. Returns the snapshot it
   * checked against (null: no table yet), so the caller need not read the log again.
   */
  async checkWrite(opts: Pick<WriteOptions, 'schema' | 'mode' | 'partitionColumns' | 'mergeSchema' | 'overwriteSchema'>): Promise<Snapshot | null> {
    const snap = await this.latestSnapshot();
    planSchema(snap, opts, this.storage.root);
    return snap;
  }

  /**
   * Commits raw actions at the first free version after `readVersion` (default: the latest version now).
   * The caller supplies commitInfo if it wants one. Conflicts follow the rules of `resolveConflict`.
   * Like `write`, the table at `readVersion` must pass the writer check (removing data counts against
   * appendOnly), and a protocol action in `actions` must list only writer features we support. With
   * in-commit timestamps on at `readVersion`, the actions must start with commitInfo, whose
   * inCommitTimestamp is set here (strictly after the previous commit's); a commit that itself enables
   * them is the caller's to stamp, with the enablement properties.
   */
  async commit(actions: Action[], opts: { readVersion?: number } = {}): Promise<number> {
    const readVersion = opts.readVersion ?? (await this.latestVersion()) ?? -1;
    const snap = readVersion >= 0 ? await this.snapshot({ version: readVersion }) : null;
    if (snap) {
      const removesData = actions.some((a) => 'remove' in a && a.remove.dataChange !== false);
      assertWritable(snap.protocol, snap.metadata, snap.schema, this.root, { removesData });
    }
    const protocol = actions.find((a): a is Extract<Action, { protocol: unknown }> => 'protocol' in a)?.protocol;
    if (protocol) assertWriterProtocol(protocol, this.root);
    const inCommitTimestamps = snap !== null && inCommitTimestampsEnabled(snap.metadata);
    const version = await commitActions(this.storage, actions, { readVersion, inCommitTimestamps });
    const metadata = actions.find((a): a is Extract<Action, { metaData: unknown }> => 'metaData' in a)?.metaData ?? snap?.metadata;
    await this.maybeCheckpoint(version, metadata?.configuration ?? null);
    return version;
  }

  /** Writes a classic checkpoint for `version` (default latest) and updates _last_checkpoint. */
  async checkpoint(version?: number): Promise<void> {
    const snap = await this.snapshot(version === undefined ? {} : { version });
    // Of a table that exists: a _delta_log deleted meanwhile is not created again for it.
    await writeCheckpoint(existingTableStorage(this.storage), snap);
  }

  /**
   * Deletes expired log files (PROTOCOL.md "Metadata Cleanup", log/cleanup.ts): those older than
   * delta.logRetentionDuration (default 30 days) below the newest checkpoint that can start a replay, unless
   * delta.enableExpiredLogCleanup is false. Runs after every automatic checkpoint.
   */
  async cleanupExpiredLogs(opts: LogCleanupOptions = {}): Promise<LogCleanupResult> {
    const snap = await this.snapshot();
    return cleanupExpiredLogs(this.storage, snap.configuration, opts);
  }

  compact(conn: DuckDBConnection, opts: CompactOptions = {}): Promise<CompactResult> {
    return compactTable(this.writeContext(), conn, opts);
  }

  async vacuum(opts: VacuumOptions): Promise<{ deleted: string[] }> {
    const snap = await this.snapshot();
    return vacuumTable(this.storage, snap, opts);
  }

  private writeContext(): WriteContext {
    return {
      storage: this.storage,
      loadLatest: () => this.latestSnapshot(),
      afterCommit: (version, configuration) => this.maybeCheckpoint(version, configuration),
    };
  }

  /** Checkpoint every delta.checkpointInterval commits. Best effort: the commit already succeeded. */
  private async maybeCheckpoint(version: number, configuration: Record<string, string> | null): Promise<void> {
    let interval = Number(configuration?.['delta.checkpointInterval'] ?? DEFAULT_CHECKPOINT_INTERVAL);
    if (!Number.isInteger(interval) || interval <= 0) interval = DEFAULT_CHECKPOINT_INTERVAL;
    if (version === 0 || version % interval !== 0) return;
    await removeStaleTempFiles(this.storage).catch(() => undefined);
    try {
      await this.checkpoint(version);
    } catch (e) {
      if (e instanceof DeltaError && e.code === 'DELTA_UNSUPPORTED_FEATURE') return;
      // A failed checkpoint costs readers only log replay time; never fail the committed write for it.
      return;
    }
    await this.cleanupAfterCheckpoint(version, configuration);
  }

  /**
   * Expired log cleanup after our checkpoint at `version`, as Spark does it. Best effort: a failure leaves
   * files for the next one. It lists the whole log, so one object does it once per cutoff day (the cutoff
   * is a midnight UTC: until it moves, no further file can have expired).
   */
  private async cleanupAfterCheckpoint(version: number, configuration: Record<string, string> | null): Promise<void> {
    const setting = logRetention(configuration);
    if ('skipped' in setting) return;
    const now = Date.now();
    const cutoff = logCutoffTime(now, setting.retentionMs);
    if (this.cleanedUpTo === cutoff) return;
    try {
      const r = await cleanupExpiredLogs(this.storage, configuration, { now, maxCheckpointVersion: version });
      if (r.failed.length === 0) this.cleanedUpTo = cutoff;
    } catch {
      // Listing or reading failed: the commit and checkpoint stand, the next checkpoint tries again.
    }
  }
}

/** Temp files of a local commit or checkpoint are gone within seconds; one this old was left by a killed writer. */
const STALE_TEMP_MS = 60 * 60_000;
/** Temp files looked at per checkpoint (more go with the next ones). */
const STALE_TEMP_BATCH = 256;

/**
 * Removes what writers killed mid-commit left in _delta_log: the temp files local
 * storage writes before it links or renames them into place (`.<name>.<uuid>.tmp`).
 * Readers ignore them; this keeps them from piling up. Run with the checkpoints.
 */
async function removeStaleTempFiles(storage: Storage, now = Date.now()): Promise<void> {
  // Their names start with '.', which sorts before every version's digits: the head of
  // the listing holds them, and a long log is not stat-ed whole every 10 commits.
  for (const f of await storage.list(LOG_DIR, { limit: STALE_TEMP_BATCH })) {
    const name = f.path.slice(f.path.lastIndexOf('/') + 1);
    if (/^\..+\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp$/.test(name) && now - f.modificationTime > STALE_TEMP_MS) {
      await storage.delete(f.path).catch(() => undefined);
    }
  }
}
