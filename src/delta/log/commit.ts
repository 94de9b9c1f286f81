// Optimistic commits (PROTOCOL.md "Delta Log Entries"): version v is claimed by creating
// _delta_log/<v>.json only if absent. A writer that loses reads the winning commit, checks it for a
// real conflict, and tries v+1. Blind appends never conflict; a commit that changes metadata or
// overwrites/removes data does when the winner added files it did not see.
import { DeltaError } from '../errors.js';
import type { Storage } from '../storage/types.js';
import { type Action, type AddFile, type CommitInfo, type Metadata, type RemoveFile, dvUniqueId } from './actions.js';
import { parseJsonLines } from './commit-read.js';
import { commitFile } from './names.js';
import { fileKey } from './snapshot.js';

/** Thrown by the conflict check when a concurrent commit already recorded our txn: nothing to do. */
export class TxnAlreadyCommitted extends Error {
  constructor(readonly appId: string, readonly committedVersion: number, readonly atVersion: number) {
    super(`txn ${appId} already committed at version ${committedVersion}`);
  }
}

export function serializeActions(actions: Action[]): Buffer {
  return Buffer.from(actions.map((a) => JSON.stringify(a)).join('\n') + '\n', 'utf8');
}

export interface CommitOptions {
  /** The version our actions were computed against; -1 when creating the table. */
  readVersion: number;
  /** Upper bound on attempts (each loss costs one read of the winning commit). */
  maxAttempts?: number;
  /**
   * The table has in-commit timestamps enabled (writer feature inCommitTimestamp): commitInfo, which must
   * be the first action, gets `inCommitTimestamp`, strictly greater than the previous commit's.
   */
  inCommitTimestamps?: boolean;
  /**
   * Called with each commit another writer made first, once the protocol's own conflict check
   * let ours move past it, before ours is tried at the next version: the caller's own conflict
   * rule (e.g. rows that must not be in the table twice). Throwing abandons the commit.
   */
  onConcurrentCommit?: (theirs: Action[], version: number) => Promise<void>;
}

function ictOf(actions: Action[]): number | null {
  const first = actions[0];
  const t = first && 'commitInfo' in first ? first.commitInfo.inCommitTimestamp : undefined;
  return typeof t === 'number' ? t : null;
}

function withIct(actions: Action[], ts: number): Action[] {
  const [first, ...rest] = actions;
  if (!first || !('commitInfo' in first)) {
    throw new DeltaError('DELTA_INVALID_ARGUMENT', 'a commit to a table with in-commit timestamps must start with commitInfo');
  }
  return [{ commitInfo: { ...first.commitInfo, inCommitTimestamp: ts } }, ...rest];
}

/** Commits `actions` at the first free version after readVersion; returns the version. */
export async function commitActions(storage: Storage, actions: Action[], opts: CommitOptions): Promise<number> {
  let current = actions;
  const maxAttempts = opts.maxAttempts ?? 10_000;
  let v = opts.readVersion + 1;
  if (opts.inCommitTimestamps) {
    let prev = -Infinity;
    if (opts.readVersion >= 0) {
      const buf = await storage.read(commitFile(opts.readVersion));
      prev = (buf && ictOf(parseJsonLines(buf, commitFile(opts.readVersion)))) ?? -Infinity;
    }
    current = withIct(current, Math.max(Date.now(), prev + 1));
  }
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    if (await storage.putIfAbsent(commitFile(v), serializeActions(current))) return v;
    const winner = await storage.read(commitFile(v));
    if (!winner) continue; // vanished (should not happen); try the same version again
    const theirs = parseJsonLines(winner, commitFile(v));
    current = resolveConflict(current, theirs, v, storage.root);
    if (opts.onConcurrentCommit) await opts.onConcurrentCommit(theirs, v);
    const theirIct = ictOf(theirs);
    if (opts.inCommitTimestamps && theirIct !== null) current = withIct(current, Math.max(ictOf(current) ?? 0, theirIct + 1));
    v++;
  }
  throw new DeltaError('DELTA_CONCURRENT_CONFLICT', `gave up committing to ${storage.root} after ${maxAttempts} lost races`);
}

/**
 * Decides whether our pending actions can move past a commit someone else made at `version`.
 * Returns the (possibly adjusted) actions, or throws DELTA_CONCURRENT_CONFLICT / TxnAlreadyCommitted.
 */
export function resolveConflict(ours: Action[], theirs: Action[], version: number, table: string): Action[] {
  const conflict = (why: string): never => {
    throw new DeltaError('DELTA_CONCURRENT_CONFLICT', `concurrent commit ${version} to ${table} conflicts with this write: ${why}`);
  };
  const ourMeta = ours.find((a): a is { metaData: Metadata } => 'metaData' in a)?.metaData;
  const theirMeta = theirs.find((a): a is { metaData: Metadata } => 'metaData' in a)?.metaData;
  const theyChangedProtocol = theirs.some((a) => 'protocol' in a);
  let result = ours;

  if (theirMeta || theyChangedProtocol) {
    // Two writers creating the same table: if theirs has our schema and partitioning, ours becomes an
    // append - unless ours is an overwrite, which must not end up as the union of both writes.
    const creating = ours.some((a) => 'protocol' in a) && ourMeta !== undefined && version === 0;
    if (creating && theirMeta && sameShape(ourMeta, theirMeta) && !readsTable(ours)) {
      result = ours.filter((a) => !('protocol' in a) && !('metaData' in a));
    } else {
      conflict(creating ? 'the table was created concurrently' : 'it changed the table metadata or protocol');
    }
  } else if (ourMeta && ours.some((a) => 'protocol' in a) && version === 0) {
    conflict('the table was created concurrently');
  }

  // Files they added were not seen by a commit that changes the schema/partitioning (they would stay
  // live under metadata they were not written for) or that read the table to replace or delete rows
  // (an overwrite would leave them in place). Spark's ConflictChecker fails such commits under
  // Serializable/WriteSerializable; SnapshotIsolation (compaction, dataChange=false) checks no adds.
  const added = theirs.find((a): a is { add: AddFile } => 'add' in a)?.add;
  if (added && isolationOf(result) !== 'SnapshotIsolation') {
    if (result.some((a) => 'metaData' in a || 'protocol' in a)) conflict(`it added ${added.path} while this write changes the table metadata`);
    if (readsTable(result)) conflict(`it added ${added.path}, which this ${isOverwrite(result) ? 'overwrite' : 'write'} did not see`);
  }

  const ourRemoves = new Set(ours.filter((a): a is { remove: RemoveFile } => 'remove' in a).map((a) => fileKey(a.remove.path, dvUniqueId(a.remove.deletionVector))));
  if (ourRemoves.size > 0) {
    for (const a of theirs) {
      if ('remove' in a && ourRemoves.has(fileKey(a.remove.path, dvUniqueId(a.remove.deletionVector)))) {
        conflict(`it also removed ${a.remove.path}`);
      }
    }
  }
  for (const a of ours) {
    if (!('txn' in a)) continue;
    const mine = a.txn;
    for (const b of theirs) {
      if ('txn' in b && b.txn.appId === mine.appId && b.txn.version >= mine.version) throw new TxnAlreadyCommitted(mine.appId, b.txn.version, version);
    }
  }
  return result;
}

function commitInfoOf(actions: Action[]): CommitInfo | undefined {
  return actions.find((a): a is { commitInfo: CommitInfo } => 'commitInfo' in a)?.commitInfo;
}

function isolationOf(actions: Action[]): unknown {
  return commitInfoOf(actions)?.isolationLevel;
}

function isOverwrite(actions: Action[]): boolean {
  return commitInfoOf(actions)?.operationParameters?.mode === 'Overwrite';
}

/**
 * Whether the commit depends on the table's current rows: it removes files with dataChange (delete,
 * overwrite), says it is not a blind append, or is an overwrite (which removes nothing on a new table).
 */
function readsTable(actions: Action[]): boolean {
  return isOverwrite(actions) || commitInfoOf(actions)?.isBlindAppend === false || actions.some((a) => 'remove' in a && a.remove.dataChange !== false);
}

function sameShape(a: Metadata, b: Metadata): boolean {
  return a.schemaString === b.schemaString && JSON.stringify(a.partitionColumns ?? []) === JSON.stringify(b.partitionColumns ?? []);
}
