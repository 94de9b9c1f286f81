// VACUUM: delete files in the table directory that the latest snapshot no longer references, once they
// are older than the retention period. Protected: live files and their deletion-vector files, tombstones
// not yet expired, _delta_log and every hidden (_ or .) path. Retention below the table's
// delta.deletedFileRetentionDuration (default 7 days) is refused unless forced, as concurrent readers
// and time travel within that window still need the files.
import { DeltaError } from '../errors.js';
import { dvFilePath } from '../dv/load.js';
import type { AddFile, RemoveFile } from '../log/actions.js';
import { assertWritable } from '../log/features.js';
import { parseIntervalMs } from '../log/interval.js';
import { resolveTablePath } from '../log/paths.js';
import type { Snapshot } from '../log/snapshot.js';
import type { Storage } from '../storage/types.js';

export interface VacuumOptions { retentionHours: number; dryRun?: boolean; now?: number; force?: boolean }

const DEFAULT_RETENTION_MS = 168 * 3600 * 1000;

export async function vacuumTable(storage: Storage, snap: Snapshot, opts: VacuumOptions): Promise<{ deleted: string[] }> {
  // vacuumProtocolCheck: a vacuum must pass the writer protocol check, not only the reader one.
  assertWritable(snap.protocol, snap.metadata, snap.schema, storage.root, { removesData: false });
  if (!Number.isFinite(opts.retentionHours) || opts.retentionHours < 0) {
    throw new DeltaError('DELTA_INVALID_ARGUMENT', `vacuum retention must be a non-negative number of hours, got ${opts.retentionHours}`);
  }
  const retentionMs = opts.retentionHours * 3600 * 1000;
  const minMs = parseIntervalMs(snap.configuration['delta.deletedFileRetentionDuration']) ?? DEFAULT_RETENTION_MS;
  if (retentionMs < minMs && !opts.force) {
    throw new DeltaError(
      'DELTA_INVALID_ARGUMENT',
      `vacuum retention ${opts.retentionHours}h is below the table's retention of ${minMs / 3600000}h (delta.deletedFileRetentionDuration); ` +
        'files still needed by concurrent readers or time travel could be deleted (force to override)',
    );
  }
  const now = opts.now ?? Date.now();
  const cutoff = now - retentionMs;

  const keep = new Set<string>();
  const protect = (f: AddFile | RemoveFile): void => {
    keep.add(safeRel(storage, f.path));
    const dv = f.deletionVector;
    if (dv && dv.storageType !== 'i') keep.add(safeRel(storage, dvFilePath(dv)));
  };
  snap.files.forEach(protect);
  for (const r of snap.tombstones) if ((r.deletionTimestamp ?? 0) > cutoff) protect(r);

  const partitionCols = new Set(snap.partitionColumns);
  const deleted: string[] = [];
  for (const f of await storage.list('', { recursive: true })) {
    if (isHidden(f.path, partitionCols)) continue;
    if (keep.has(f.path)) continue;
    if (f.modificationTime >= cutoff) continue;
    deleted.push(f.path);
  }
  if (!opts.dryRun) {
    for (const p of deleted) await storage.delete(p);
  }
  return { deleted };
}

function safeRel(storage: Storage, p: string): string {
  try {
    return resolveTablePath(storage, p);
  } catch {
    return p; // outside the table: never listed, nothing to protect
  }
}

/** `_delta_log`, `_change_data`, `.crc` files...; a `_x=1` directory is data when `_x` is a partition column. */
function isHidden(rel: string, partitionCols: Set<string>): boolean {
  const parts = rel.split('/');
  return parts.some((seg, i) => {
    if (!(seg.startsWith('_') || seg.startsWith('.'))) return false;
    if (i < parts.length - 1 && seg.includes('=') && partitionCols.has(seg.slice(0, seg.indexOf('=')))) return false;
    return true;
  });
}
