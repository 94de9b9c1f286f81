// One table root on some object store. All paths are relative to `root`, '/'-separated, never URI-encoded.
export interface FileInfo { path: string; size: number; modificationTime: number }
export interface ListOptions { recursive?: boolean; startAfter?: string; limit?: number }

export interface Storage {
  /** Table root URI: an absolute local path or s3://bucket/prefix. */
  readonly root: string;
  /** The whole object, or null when absent. */
  read(relPath: string): Promise<Buffer | null>;
  /** Atomic create; false if the object already exists (local: temp file + link(), never rename over). */
  putIfAbsent(relPath: string, data: Buffer): Promise<boolean>;
  /** Create or overwrite (data files, _last_checkpoint). */
  write(relPath: string, data: Buffer): Promise<void>;
  /**
   * Files (not directories) directly under relDir ('' = root), recursively when `recursive`; sorted by path.
   * `startAfter`: only paths sorting after it (code-unit order, exclusive; S3 ListObjectsV2 StartAfter), so a
   * listing of _delta_log can begin at a version without reading, or on local disk stat-ing, the older entries.
   * `limit`: at most that many files, the first in that order.
   */
  list(relDir: string, opts?: ListOptions): Promise<FileInfo[]>;
  delete(relPath: string): Promise<void>;
  /** A local file DuckDB can read (local: the file itself; S3: a cached download). */
  localPath(relPath: string): Promise<string>;
  /** Move a finished local file into place (local: rename/copy; S3: upload). */
  uploadLocal(localFile: string, relPath: string): Promise<void>;
  stat(relPath: string): Promise<{ size: number; modificationTime: number } | null>;
  /**
   * The same store for writing to a table that exists: the table's root and _delta_log
   * are never created again (local: a directory deleted under a running writer makes its
   * writes fail with ENOENT instead of quietly starting a new, half table there; partition
   * directories are still created). Stores without directories (S3) need no such view.
   */
  forExistingTable?(): Storage;
}

/** `storage` as it must be used to write to a table that already exists (see Storage.forExistingTable). */
export function existingTableStorage(storage: Storage): Storage {
  return storage.forExistingTable?.() ?? storage;
}
