// Expired log cleanup (PROTOCOL.md "Metadata Cleanup"; delta-spark's MetadataCleanup, run after a checkpoint):
// log files older than delta.logRetentionDuration (default 30 days) that no version inside the retention
// window needs are deleted, unless delta.enableExpiredLogCleanup is false.
//
//   cutoff time       midnight UTC of the day (now - retention), as Spark truncates it
//   cutoff commit     the newest commit whose time is not after the cutoff time; commit times are the
//                     commit files' modification times made strictly increasing, as time travel reads them
//   cutoff checkpoint the newest complete checkpoint not after the cutoff commit (and not after the
//                     checkpoint just written) that can start a replay: every part present and non-empty,
//                     readable with protocol and metaData, its own commit present and the commits after it
//                     contiguous, and its commit's time not adjusted by an older commit (deleting those would
//                     change which version a timestamp finds, which Spark's BufferingLogDeletionIterator
//                     also guards against)
//
// Deleted: every commit, checkpoint, .crc and other `<version>.*` file below the cutoff checkpoint, and log
// compaction files starting at or before it. Kept: the cutoff checkpoint, its commit and everything after, so
// every version from the cutoff checkpoint on can be rebuilt and time travelled to. No cutoff checkpoint: nothing
// is deleted. Checkpoints go first, then commits, oldest first, so an interrupted cleanup leaves the older
// versions unreconstructable (commit 0 gone, no checkpoint), never a checkpoint followed by a gap. Sidecar files
// of V2 checkpoints (_delta_log/_sidecars) and staged commits are not touched.
import type { Storage } from '../storage/types.js';
import { readCheckpointActions } from './checkpoint-read.js';
import { parseIntervalMs } from './interval.js';
import { LOG_DIR, classifyLogFile } from './names.js';

export const DEFAULT_LOG_RETENTION_MS = 30 * 86_400_000;
const DAY_MS = 86_400_000;
const DELETE_BATCH = 16;
const HEAD_ENTRIES = 64;

export interface LogCleanupOptions {
  /** The current time (ms); tests move it. */
  now?: number;
  /** Never choose a cutoff checkpoint after this version (the checkpoint just written). */
  maxCheckpointVersion?: number;
}

export interface LogCleanupResult {
  /** Why nothing was looked at: disabled, or a retention we cannot read. */
  skipped?: string;
  cutoffTime?: number;
  /** The checkpoint replay now starts from at the earliest; null when none qualifies (nothing deleted). */
  cutoffCheckpoint: number | null;
  deleted: string[];
  /** Deletes that failed (left for the next cleanup). */
  failed: string[];
}

/** The table's log retention: the duration, or why there is no cleanup (turned off, a duration we cannot read). */
export function logRetention(configuration: Record<string, string> | null | undefined): { retentionMs: number } | { skipped: string } {
  const cfg = configuration ?? {};
  if (cfg['delta.enableExpiredLogCleanup']?.trim().toLowerCase() === 'false') return { skipped: 'delta.enableExpiredLogCleanup is false' };
  const raw = cfg['delta.logRetentionDuration'];
  if (raw === undefined) return { retentionMs: DEFAULT_LOG_RETENTION_MS };
  const ms = parseIntervalMs(raw);
  // A duration we misread could delete history someone relies on: do nothing rather than guess.
  if (ms === null || !Number.isFinite(ms) || ms < 0) return { skipped: `delta.logRetentionDuration '${raw}' is not an interval` };
  return { retentionMs: ms };
}

/** Midnight UTC of the day `now - retentionMs` falls on. */
export function logCutoffTime(now: number, retentionMs: number): number {
  return Math.floor((now - retentionMs) / DAY_MS) * DAY_MS;
}

const VERSIONED_RE = /^(\d{20})\./;
const COMPACTED_RE = /^(\d{20})\.(\d{20})\.compacted\.json$/;

interface Listed { path: string; name: string; version: number; size: number; modificationTime: number }

/** Deletes the expired log files of the table; never throws for a failed delete. */
export async function cleanupExpiredLogs(storage: Storage, configuration: Record<string, string> | null | undefined, opts: LogCleanupOptions = {}): Promise<LogCleanupResult> {
  const setting = logRetention(configuration);
  if ('skipped' in setting) return { skipped: setting.skipped, cutoffCheckpoint: null, deleted: [], failed: [] };
  const cutoffTime = logCutoffTime(opts.now ?? Date.now(), setting.retentionMs);
  const none: LogCleanupResult = { cutoffTime, cutoffCheckpoint: null, deleted: [], failed: [] };

  // The oldest entries first: when the oldest commit is newer than the cutoff, nothing has expired, and the
  // whole log (a month of commits every 30 s is ~95k files) need not be listed.
  const head = await storage.list(LOG_DIR, { limit: HEAD_ENTRIES });
  const oldestCommit = head.find((f) => classifyLogFile(f.path.slice(f.path.lastIndexOf('/') + 1), f.size, f.modificationTime)?.kind === 'commit');
  if (head.length === 0 || (oldestCommit && oldestCommit.modificationTime > cutoffTime)) return none;

  const files: Listed[] = [];
  for (const f of head.length < HEAD_ENTRIES ? head : await storage.list(LOG_DIR)) {
    const name = f.path.slice(f.path.lastIndexOf('/') + 1);
    const m = VERSIONED_RE.exec(name);
    if (m) files.push({ path: f.path, name, version: Number(m[1]), size: f.size, modificationTime: f.modificationTime });
  }
  const commits = new Map<number, Listed>();
  for (const f of files) if (classifyLogFile(f.name, f.size, f.modificationTime)?.kind === 'commit') commits.set(f.version, f);
  const commitVersions = [...commits.keys()].sort((a, b) => a - b);
  if (commitVersions.length === 0) return none;

  // Commit times as time travel sees them: strictly increasing with the version.
  const adjusted = new Map<number, number>();
  let prev = -Infinity;
  let cutoffCommit: number | null = null;
  for (const v of commitVersions) {
    const t = Math.max(commits.get(v)!.modificationTime, prev + 1);
    adjusted.set(v, t);
    prev = t;
    if (t <= cutoffTime) cutoffCommit = v;
  }
  if (cutoffCommit === null) return none;
  const maxVersion = Math.min(cutoffCommit, opts.maxCheckpointVersion ?? Infinity);
  const latestCommit = commitVersions[commitVersions.length - 1];

  const cutoff = await chooseCutoffCheckpoint(storage, files, commits, adjusted, maxVersion, latestCommit);
  if (cutoff === null) return none;

  const doomed = files.filter((f) => {
    const c = COMPACTED_RE.exec(f.name);
    return c ? Number(c[1]) <= cutoff : f.version < cutoff;
  });
  const isCheckpoint = (f: Listed): boolean => classifyLogFile(f.name, f.size, f.modificationTime)?.kind === 'checkpoint';
  const order = [...doomed.filter(isCheckpoint), ...doomed.filter((f) => !isCheckpoint(f))];
  // Within each group oldest first (the listing is sorted by name, which is version order).
  const result: LogCleanupResult = { cutoffTime, cutoffCheckpoint: cutoff, deleted: [], failed: [] };
  for (let i = 0; i < order.length; i += DELETE_BATCH) {
    const batch = order.slice(i, i + DELETE_BATCH);
    const outcomes = await Promise.allSettled(batch.map((f) => storage.delete(f.path)));
    outcomes.forEach((o, j) => (o.status === 'fulfilled' ? result.deleted : result.failed).push(batch[j].path));
  }
  return result;
}

/** The newest checkpoint version <= maxVersion that replay can start from and the retained times agree with. */
async function chooseCutoffCheckpoint(
  storage: Storage, files: Listed[], commits: Map<number, Listed>, adjusted: Map<number, number>, maxVersion: number, latestCommit: number,
): Promise<number | null> {
  const groups = new Map<string, { version: number; parts: number; files: Listed[] }>();
  for (const f of files) {
    const lf = classifyLogFile(f.name, f.size, f.modificationTime);
    if (lf?.kind !== 'checkpoint' || lf.version > maxVersion) continue;
    const key = lf.uuid ? `${lf.version}:uuid:${lf.uuid}` : lf.parts > 1 ? `${lf.version}:multi:${lf.parts}` : `${lf.version}:classic`;
    const g = groups.get(key) ?? { version: lf.version, parts: lf.parts, files: [] };
    g.files.push(f);
    groups.set(key, g);
  }
  const complete = [...groups.values()]
    .filter((g) => g.files.length === g.parts && g.files.every((f) => f.size > 0))
    .sort((a, b) => b.version - a.version);
  for (const g of complete) {
    const v = g.version;
    const own = commits.get(v);
    if (!own) continue; // the checkpoint's commit carries its commitInfo (and time): both are kept
    let contiguous = true;
    for (let x = v + 1; x <= latestCommit && contiguous; x++) contiguous = commits.has(x);
    if (!contiguous) return null; // a damaged log: delete nothing
    // Once the older commits are gone, commit v's time is its file's own; it must already be that.
    if (adjusted.get(v) !== own.modificationTime) continue;
    try {
      const actions = await readCheckpointActions(storage, g.files.map((f) => f.path));
      if (!actions.some((a) => 'protocol' in a) || !actions.some((a) => 'metaData' in a)) continue;
    } catch {
      continue; // unreadable: readers would fall back to an older checkpoint, which must stay
    }
    return v;
  }
  return null;
}
