// Log replay (PROTOCOL.md "Action Reconciliation"): newest complete checkpoint not after the target version,
// then every commit after it, in order. Versions must be contiguous.
import { DeltaError } from '../errors.js';
import { parseSchemaString } from '../schema/json.js';
import type { StructType } from '../schema/types.js';
import type { Storage } from '../storage/types.js';
import type { Action, AddFile, DomainMetadata, Metadata, Protocol, RemoveFile } from './actions.js';
import { decodeActionPath, dvUniqueId } from './actions.js';
import { readCheckpointActions } from './checkpoint-read.js';
import { parseJsonLines } from './commit-read.js';
import { assertReadable } from './features.js';
import { assertTypeChangesSupported } from '../schema/type-widening.js';
import { LOG_DIR, LAST_CHECKPOINT, classifyLogFile, commitFile, pad20, type LogFile } from './names.js';
import { versionAtTimestamp } from './time-travel.js';

export interface Snapshot {
  version: number;
  schema: StructType;
  partitionColumns: string[];
  configuration: Record<string, string>;
  protocol: Protocol;
  metadata: Metadata;
  /** Live logical files; `path` exactly as in the log (URI-encoded, relative or absolute). */
  files: AddFile[];
  /** Remove tombstones still in the state (for VACUUM). */
  tombstones: RemoveFile[];
  /** appId -> latest txn version. */
  appTransactions: Map<string, number>;
  domainMetadata: Map<string, DomainMetadata>;
  /** Modification time (ms) of the commit file of `version`, when it exists. */
  timestamp: number | null;
}

export interface LogListing {
  commits: Map<number, Extract<LogFile, { kind: 'commit' }>>;
  checkpoints: Extract<LogFile, { kind: 'checkpoint' }>[];
  latest: number | null;
  /** The lowest version the listing could show: 0 for a full listing, else the version it started at. */
  from: number;
}

/**
 * Commits and checkpoints in _delta_log; with `fromVersion`, only those of that version and later (a listing
 * that starts there: S3 StartAfter, local names filtered before any stat), so the cost does not grow with the
 * history kept before it.
 */
export async function listLog(storage: Storage, opts: { fromVersion?: number } = {}): Promise<LogListing> {
  const commits = new Map<number, Extract<LogFile, { kind: 'commit' }>>();
  const checkpoints: Extract<LogFile, { kind: 'checkpoint' }>[] = [];
  let latest: number | null = null;
  const from = opts.fromVersion !== undefined && opts.fromVersion > 0 ? opts.fromVersion : 0;
  // `<dir>/<pad20(v)>` sorts before every file of version v and after every file of an older version.
  const startAfter = from > 0 ? `${LOG_DIR}/${pad20(from)}` : undefined;
  for (const f of await storage.list(LOG_DIR, startAfter === undefined ? {} : { startAfter })) {
    const name = f.path.slice(f.path.lastIndexOf('/') + 1);
    const lf = classifyLogFile(name, f.size, f.modificationTime);
    if (!lf || lf.version < from) continue;
    if (lf.kind === 'commit') commits.set(lf.version, lf);
    else checkpoints.push(lf);
    latest = latest === null ? lf.version : Math.max(latest, lf.version);
  }
  return { commits, checkpoints, latest, from };
}

const PROBE_BATCH = 4;
const PROBE_MAX = 8;

/**
 * The commits from `from` on (to `to` at most), found by asking for each file in turn (stat; S3 HEAD), a few
 * at once: when few commits are new this is cheaper than any listing, and on local disk a listing reads the
 * whole directory whatever it starts at. Null when commit `from` itself is absent (the table was removed or
 * replaced) or more than PROBE_MAX commits would have to be asked for: then list.
 */
export async function probeCommits(storage: Storage, from: number, to?: number): Promise<LogListing | null> {
  const commits = new Map<number, Extract<LogFile, { kind: 'commit' }>>();
  const last = Math.min(from + PROBE_MAX - 1, to ?? Infinity);
  for (let v = from; v <= last; v += PROBE_BATCH) {
    const versions: number[] = [];
    for (let x = v; x < v + PROBE_BATCH && x <= last; x++) versions.push(x);
    const stats = await Promise.all(versions.map((x) => storage.stat(commitFile(x))));
    for (const [i, st] of stats.entries()) {
      const x = versions[i];
      // The first absent commit ends the log (one seen after it was written meanwhile: left for next time).
      if (!st) return x === from ? null : { commits, checkpoints: [], latest: x - 1, from };
      commits.set(x, { kind: 'commit', version: x, path: commitFile(x), size: st.size, modificationTime: st.modificationTime });
    }
  }
  // Up to `to`, every commit is there; past it the log was not asked about, nor is it needed.
  return to !== undefined && last === to ? { commits, checkpoints: [], latest: to, from } : null;
}

/**
 * The newest version in _delta_log, listing only from `_last_checkpoint`'s version when that shows any
 * version (a hint from another table once at this path, or one ahead of the log, shows none: full listing).
 */
export async function latestLogVersion(storage: Storage): Promise<number | null> {
  const hint = await readLastCheckpointHint(storage);
  if (hint && hint.version > 0) {
    const list = await listLog(storage, { fromVersion: hint.version });
    if (list.latest !== null) return list.latest;
  }
  return (await listLog(storage)).latest;
}

interface CheckpointChoice { version: number; paths: string[] }

/** Complete checkpoints, newest first. Multi-part checkpoints with a missing part are ignored. */
function completeCheckpoints(list: LogListing, maxVersion: number): CheckpointChoice[] {
  const groups = new Map<string, { version: number; parts: number; files: Map<number, string> }>();
  for (const c of list.checkpoints) {
    if (c.version > maxVersion) continue;
    const key = c.uuid ? `${c.version}:uuid:${c.uuid}` : c.parts > 1 ? `${c.version}:multi:${c.parts}` : `${c.version}:classic`;
    const g = groups.get(key) ?? { version: c.version, parts: c.parts, files: new Map() };
    g.files.set(c.part, c.path);
    groups.set(key, g);
  }
  const out: CheckpointChoice[] = [];
  for (const g of groups.values()) {
    if (g.files.size !== g.parts) continue;
    out.push({ version: g.version, paths: [...g.files.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]) });
  }
  return out.sort((a, b) => b.version - a.version);
}

/**
 * `_last_checkpoint` is only a hint (PROTOCOL.md "Last Checkpoint File"): it says where a listing may start.
 * Absent, empty or corrupt -> null (full listing). Whether the checkpoint it names exists, is complete and
 * readable, and whether a newer one exists, the listing from its version tells.
 */
export async function readLastCheckpointHint(storage: Storage): Promise<{ version: number; parts?: number } | null> {
  const buf = await storage.read(LAST_CHECKPOINT).catch(() => null);
  if (!buf || buf.length === 0) return null;
  try {
    const j = JSON.parse(buf.toString('utf8')) as { version?: unknown; parts?: unknown };
    return typeof j.version === 'number' && Number.isInteger(j.version) && j.version >= 0
      ? { version: j.version, parts: typeof j.parts === 'number' ? j.parts : undefined }
      : null;
  } catch {
    return null;
  }
}

/** Which version to load: a version number, or the version current at a timestamp (ms since epoch or Date). */
export interface SnapshotOptions { version?: number; timestamp?: number | Date }

/**
 * `base`: an earlier snapshot of the same table to continue from instead of a checkpoint.
 *
 * What is read of the log: with `base`, the commits after base.version, asked for one by one when few
 * (probeCommits), else listed from base.version on (base's own commit must still be there, else the table
 * was removed or replaced and the snapshot is built afresh); else, unless time travelling to a
 * version before it or by timestamp, the log from `_last_checkpoint`'s version on. Whenever such a partial
 * listing cannot build the snapshot (no usable checkpoint in it, a missing commit, an unreadable checkpoint,
 * a version beyond it), the whole log is listed and the snapshot built, or refused, from that.
 */
export async function loadSnapshot(storage: Storage, opts: SnapshotOptions = {}, base?: Snapshot | null): Promise<Snapshot> {
  if (opts.timestamp !== undefined && opts.version !== undefined) {
    throw new DeltaError('DELTA_INVALID_ARGUMENT', 'give a version or a timestamp to time travel, not both');
  }
  if (opts.version !== undefined && (!Number.isInteger(opts.version) || opts.version < 0)) {
    throw new DeltaError('DELTA_INVALID_ARGUMENT', `invalid table version ${opts.version}`);
  }
  if (opts.timestamp === undefined) {
    // Incremental: a snapshot already in hand plus the commits after it (versions are
    // immutable). Only while the log still holds the base's own commit, the same file: a
    // table deleted (or replaced) since, whose log now starts after the base, is read from
    // what the log holds, which fails for a log that lacks its first versions.
    if (base && (opts.version === undefined || opts.version >= base.version)) {
      const list = (await probeCommits(storage, base.version, opts.version)) ?? (await listLog(storage, { fromVersion: base.version }));
      const target = opts.version ?? list.latest;
      if (sameCommit(list, base) && target !== null && target <= list.latest! && firstMissing(list, base.version + 1, target) === null) {
        return replay(storage, list, snapshotAsActions(base), base.version + 1, target);
      }
    }
    const hint = await readLastCheckpointHint(storage);
    if (hint && hint.version > 0 && (opts.version === undefined || opts.version >= hint.version)) {
      const list = await listLog(storage, { fromVersion: hint.version });
      const snap = list.latest === null ? null : await fromListing(storage, list, opts.version ?? list.latest, true);
      if (snap) return snap;
    }
  }
  const list = await listLog(storage);
  if (list.latest === null) throw new DeltaError('DELTA_NOT_A_TABLE', `${storage.root} is not a Delta table (no commits in ${LOG_DIR})`);
  const target = opts.timestamp !== undefined ? await versionAtTimestamp(storage, list, opts.timestamp, () => loadSnapshot(storage, { version: list.latest! })) : (opts.version ?? list.latest);
  return (await fromListing(storage, list, target, false))!;
}

/**
 * The snapshot at `target` from the newest usable checkpoint in `list` and the commits after it. For a
 * partial listing (`partial`), null where only the whole log could tell: no checkpoint in it serves, a
 * commit is missing, or the target lies beyond it.
 */
async function fromListing(storage: Storage, list: LogListing, target: number, partial: boolean): Promise<Snapshot | null> {
  if (!Number.isInteger(target) || target < 0) throw new DeltaError('DELTA_INVALID_ARGUMENT', `invalid table version ${target}`);
  if (target > list.latest!) {
    if (partial) return null;
    throw new DeltaError('DELTA_VERSION_NOT_FOUND', `version ${target} of ${storage.root} does not exist (latest is ${list.latest})`);
  }
  const candidates = completeCheckpoints(list, target);
  let lastError: unknown = null;
  for (const cp of [...candidates, null]) {
    if (cp === null && partial) return null; // the commits before the listing's start are not in it
    const startVersion = cp ? cp.version + 1 : 0;
    // Every commit from the checkpoint (exclusive) to the target must exist.
    const missing = firstMissing(list, startVersion, target);
    if (missing !== null) {
      if (partial) return null;
      if (cp === null && lastError) throw lastError;
      if (cp === null && missing === 0) {
        throw new DeltaError('DELTA_VERSION_NOT_FOUND', `version ${target} of ${storage.root} cannot be reconstructed: commit 0 is gone and no checkpoint covers it`);
      }
      throw new DeltaError('DELTA_VERSION_GAP', `the log of ${storage.root} is missing version ${missing} (versions must be contiguous up to ${target})`);
    }
    let actions: Action[] = [];
    if (cp) {
      try {
        actions = await readCheckpointActions(storage, cp.paths);
      } catch (e) {
        lastError = e; // an unreadable checkpoint: fall back to an older one, or to the commits
        continue;
      }
    }
    return replay(storage, list, actions, startVersion, target);
  }
  throw lastError ?? new DeltaError('DELTA_NOT_A_TABLE', `${storage.root}: no usable checkpoint or commits`);
}

/** A snapshot's state as the actions that rebuild it (like a checkpoint, tombstones included). */
function snapshotAsActions(s: Snapshot): Action[] {
  const out: Action[] = [{ protocol: s.protocol }, { metaData: s.metadata }];
  for (const [appId, version] of s.appTransactions) out.push({ txn: { appId, version } });
  for (const d of s.domainMetadata.values()) out.push({ domainMetadata: d });
  for (const r of s.tombstones) out.push({ remove: r });
  for (const a of s.files) out.push({ add: a });
  return out;
}

/** Whether the log still lists the commit `s` was built up to, with the same modification time. */
function sameCommit(list: LogListing, s: Snapshot): boolean {
  const c = list.commits.get(s.version);
  // In whole seconds: a time from a stat (an HTTP HEAD's Last-Modified) has no
  // milliseconds, where some S3-compatible stores list them.
  return c !== undefined && (s.timestamp === null || Math.floor(c.modificationTime / 1000) === Math.floor(s.timestamp / 1000));
}

function firstMissing(list: LogListing, from: number, to: number): number | null {
  for (let v = from; v <= to; v++) if (!list.commits.has(v)) return v;
  return null;
}

async function replay(storage: Storage, list: LogListing, checkpointActions: Action[], from: number, to: number): Promise<Snapshot> {
  let protocol: Protocol | null = null;
  let metadata: Metadata | null = null;
  const adds = new Map<string, AddFile>();
  const removes = new Map<string, RemoveFile>();
  const txns = new Map<string, number>();
  const domains = new Map<string, DomainMetadata>();

  const apply = (a: Action): void => {
    if ('add' in a) {
      const k = fileKey(a.add.path, dvUniqueId(a.add.deletionVector));
      removes.delete(k);
      adds.set(k, a.add);
    } else if ('remove' in a) {
      const k = fileKey(a.remove.path, dvUniqueId(a.remove.deletionVector));
      adds.delete(k);
      removes.set(k, a.remove);
    } else if ('metaData' in a) metadata = a.metaData;
    else if ('protocol' in a) protocol = a.protocol;
    else if ('txn' in a) txns.set(a.txn.appId, a.txn.version);
    else if ('domainMetadata' in a) {
      if (a.domainMetadata.removed) domains.delete(a.domainMetadata.domain);
      else domains.set(a.domainMetadata.domain, a.domainMetadata);
    }
  };
  for (const a of checkpointActions) apply(a);
  // Read commits concurrently (bounded), apply strictly in order.
  const versions: number[] = [];
  for (let v = from; v <= to; v++) versions.push(v);
  const BATCH = 16;
  for (let i = 0; i < versions.length; i += BATCH) {
    const chunk = versions.slice(i, i + BATCH);
    const bufs = await Promise.all(chunk.map((v) => storage.read(commitFile(v))));
    chunk.forEach((v, j) => {
      const buf = bufs[j];
      if (!buf) throw new DeltaError('DELTA_VERSION_GAP', `commit ${v} of ${storage.root} disappeared while reading the log`);
      for (const a of parseJsonLines(buf, commitFile(v))) apply(a);
    });
  }

  const p = protocol as Protocol | null;
  const m = metadata as Metadata | null;
  if (!p) throw new DeltaError('DELTA_MISSING_PROTOCOL', `the log of ${storage.root} up to version ${to} has no protocol action`);
  if (!m) throw new DeltaError('DELTA_MISSING_METADATA', `the log of ${storage.root} up to version ${to} has no metaData action`);
  assertReadable(p, storage.root);
  // Hand-made ("Manual Update") logs may carry no schemaString: an empty schema, not a failure.
  const schema = m.schemaString ? parseSchemaString(m.schemaString) : { type: 'struct' as const, fields: [] };
  assertTypeChangesSupported(schema);
  return {
    version: to,
    schema,
    partitionColumns: m.partitionColumns ?? [],
    configuration: m.configuration ?? {},
    protocol: p,
    metadata: m,
    files: [...adds.values()],
    tombstones: [...removes.values()],
    appTransactions: txns,
    domainMetadata: domains,
    timestamp: list.commits.get(to)?.modificationTime ?? null,
  };
}

/** Logical-file key (path, dvId); paths compared decoded so differently-escaped spellings match. */
export function fileKey(path: string, dvId: string | null): string {
  const p = decodeActionPath(path);
  return dvId === null ? p : `${p}\u0000${dvId}`;
}
