// Time travel by timestamp: which version was current at a given time (PROTOCOL.md "In-Commit Timestamps",
// "Recommendations for Readers of Tables with In-Commit Timestamps").
import { DeltaError } from '../errors.js';
import type { Storage } from '../storage/types.js';
import { parseJsonLines } from './commit-read.js';
import { inCommitTimestampsEnabled } from './features.js';
import { commitFile } from './names.js';
import type { LogListing, Snapshot } from './snapshot.js';

/**
 * The latest version committed at or before `at`. Without in-commit timestamps, commit times are the commit
 * files' modification times made strictly increasing (a time not after its predecessor's counts as
 * predecessor + 1 ms). With them, the enablement properties split the history, and only one side is searched:
 * a time at or after delta.inCommitTimestampEnablementTimestamp only among the versions from
 * delta.inCommitTimestampEnablementVersion on (by commitInfo.inCommitTimestamp), an earlier time only among
 * the versions before it (by modification time). File times can change when a table is copied or restored;
 * letting a later-looking pre-enablement commit stop the search would miss versions that are really current.
 */
export async function versionAtTimestamp(storage: Storage, list: LogListing, at: number | Date, loadLatest: () => Promise<Snapshot>): Promise<number> {
  const ts = at instanceof Date ? at.getTime() : at;
  if (!Number.isFinite(ts)) throw new DeltaError('DELTA_INVALID_ARGUMENT', `invalid time travel timestamp ${String(at)}`);
  const latest = await loadLatest();
  const versions = [...list.commits.keys()].sort((a, b) => a - b);
  let found: number | null;
  if (!inCommitTimestampsEnabled(latest.metadata)) {
    found = latestByModificationTime(list, versions, ts);
  } else {
    const cfg = latest.configuration;
    // Absent enablement properties: the table had in-commit timestamps from its first commit.
    const fromVersion = Number(cfg['delta.inCommitTimestampEnablementVersion'] ?? 0);
    if (!Number.isInteger(fromVersion) || fromVersion < 0) {
      throw new DeltaError('DELTA_CORRUPT_LOG', `${storage.root}: invalid delta.inCommitTimestampEnablementVersion '${cfg['delta.inCommitTimestampEnablementVersion']}'`);
    }
    const fromTs = fromVersion === 0 ? -Infinity : await enablementTimestamp(storage, cfg, fromVersion);
    found = ts >= fromTs
      ? await latestByInCommitTimestamp(storage, list, versions.filter((v) => v >= fromVersion), ts)
      : latestByModificationTime(list, versions.filter((v) => v < fromVersion), ts);
  }
  if (found === null) {
    throw new DeltaError('DELTA_VERSION_NOT_FOUND', `${storage.root} has no version at or before ${new Date(ts).toISOString()} (the earliest available commit is later)`);
  }
  return found;
}

/** The property; when a writer left it out, the enabling commit's own inCommitTimestamp (the spec makes them equal). */
async function enablementTimestamp(storage: Storage, cfg: Record<string, string>, fromVersion: number): Promise<number> {
  const raw = cfg['delta.inCommitTimestampEnablementTimestamp'];
  const t = raw === undefined ? await inCommitTimestampOf(storage, fromVersion) : Number(raw);
  if (t === null || !Number.isFinite(t)) {
    throw new DeltaError('DELTA_CORRUPT_LOG', `${storage.root}: in-commit timestamps were enabled at version ${fromVersion}, but delta.inCommitTimestampEnablementTimestamp is ${raw === undefined ? 'missing' : `'${raw}'`}`);
  }
  return t;
}

function latestByModificationTime(list: LogListing, versions: number[], ts: number): number | null {
  let prev = -Infinity;
  let found: number | null = null;
  for (const v of versions) {
    let t = list.commits.get(v)!.modificationTime;
    if (t <= prev) t = prev + 1;
    prev = t;
    if (t > ts) break;
    found = v;
  }
  return found;
}

async function latestByInCommitTimestamp(storage: Storage, list: LogListing, versions: number[], ts: number): Promise<number | null> {
  let found: number | null = null;
  for (const v of versions) {
    // A commit missing its inCommitTimestamp (not written by the spec) falls back to its file time.
    const t = (await inCommitTimestampOf(storage, v)) ?? list.commits.get(v)!.modificationTime;
    if (t > ts) break;
    found = v;
  }
  return found;
}

async function inCommitTimestampOf(storage: Storage, v: number): Promise<number | null> {
  const buf = await storage.read(commitFile(v));
  const ci = buf ? parseJsonLines(buf, commitFile(v)).find((a): a is { commitInfo: { inCommitTimestamp?: number } } => 'commitInfo' in a) : undefined;
  return typeof ci?.commitInfo.inCommitTimestamp === 'number' ? ci.commitInfo.inCommitTimestamp : null;
}
