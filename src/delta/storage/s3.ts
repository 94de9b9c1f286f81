// S3 and S3-compatible object storage for Delta tables at s3://bucket/prefix (s3a:// and s3n://, as
// Spark writes them, name the same objects). Importing this module registers the scheme with open.ts.
//
// Commits rely on S3's conditional write: PutObject with `If-None-Match: *` creates the object only if
// no object has that key, atomically, and answers 412 otherwise. Servers that ignore the header would
// let two writers both "win" a version, so only use S3-compatible servers that honour it.
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { privateDirProblem } from '../../private-dir.js';
import { DeltaError } from '../errors.js';
import { registerStorageScheme } from './open.js';
import { s3ClientFor, s3SettingsFromEnv, type S3Settings } from './s3-settings.js';
import { uploadFile, type UploadOptions } from './s3-upload.js';
import type { FileInfo, ListOptions, Storage } from './types.js';

export interface S3StorageOptions extends UploadOptions {
  /** Overrides of the settings read from the environment (endpoint, region, credentials, ...). */
  settings?: Partial<S3Settings>;
  /** Use this client instead of one built from the settings. */
  client?: S3Client;
  /** Keys per ListObjectsV2 page (S3's maximum, 1000, by default). */
  listPageSize?: number;
}

const ROOT_RE = /^(s3|s3a|s3n):\/\/([^/?#]+)(\/[^?#]*)?$/i;
// Concurrent localPath() calls for one object share one download, across all storages of the process.
const downloads = new Map<string, Promise<string>>();
// Cache directories this process has checked (private to us) and pruned, once each.
const readyCacheDirs = new Map<string, Promise<void>>();

/** Cached objects unused for this long are removed (when a process first uses the cache). */
export const S3_CACHE_MAX_AGE_MS = 7 * 24 * 3600_000;
/** Downloads left unfinished (a process killed mid-download) are removed after this long. */
const PART_MAX_AGE_MS = 24 * 3600_000;
/** A cache hit refreshes the file's mtime (its "last used") at most this often. */
const TOUCH_AFTER_MS = 3600_000;

export class S3Storage implements Storage {
  readonly root: string;
  readonly bucket: string;
  /** Key prefix of the table root, without a trailing '/'; '' when the table is the bucket's root. */
  readonly prefix: string;
  private readonly keyBase: string;
  private readonly client: S3Client;
  private readonly cacheDir: string;
  private readonly listPageSize: number | undefined;
  private readonly uploadOptions: UploadOptions;

  constructor(root: string, opts: S3StorageOptions = {}) {
    const m = ROOT_RE.exec(root.trim());
    if (!m) throw new DeltaError('DELTA_INVALID_ARGUMENT', `not an S3 table location: '${root}' (expected s3://bucket/prefix)`);
    this.bucket = m[2];
    this.prefix = (m[3] ?? '').replace(/^\/+|\/+$/g, '');
    this.root = `${m[1].toLowerCase()}://${this.bucket}${this.prefix ? '/' + this.prefix : ''}`;
    this.keyBase = this.prefix ? this.prefix + '/' : '';
    const settings = { ...s3SettingsFromEnv(), ...opts.settings };
    this.client = opts.client ?? s3ClientFor(settings);
    this.cacheDir = settings.cacheDir;
    this.listPageSize = opts.listPageSize;
    this.uploadOptions = { multipartThreshold: opts.multipartThreshold, partSize: opts.partSize, concurrency: opts.concurrency };
  }

  /** The object key of a path relative to the root; refuses paths that would leave the root. */
  private key(relPath: string): string {
    const rel = relPath.replace(/^\/+/, '');
    if (rel === '' || rel.split('/').some((s) => s === '.' || s === '..')) {
      throw new DeltaError('DELTA_INVALID_ARGUMENT', `bad path '${relPath}' under table root ${this.root}`);
    }
    return this.keyBase + rel;
  }

  private fail(op: string, key: string, e: unknown): DeltaError {
    const err = e as Error;
    const st = statusOf(e);
    const detail = err.message && err.message !== 'UnknownError' ? err.message : 'no details';
    return new DeltaError(
      'DELTA_STORAGE',
      `S3 ${op} s3://${this.bucket}/${key} failed: ${err.name ?? 'Error'}${st ? ` (HTTP ${st})` : ''}: ${detail}`,
      { cause: e },
    );
  }

  async read(relPath: string): Promise<Buffer | null> {
    const key = this.key(relPath);
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return Buffer.from(await r.Body!.transformToByteArray());
    } catch (e) {
      if (isMissingKey(e)) return null;
      throw this.fail('GetObject', key, e);
    }
  }

  async putIfAbsent(relPath: string, data: Buffer): Promise<boolean> {
    const key = this.key(relPath);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: data, ContentLength: data.length, IfNoneMatch: '*' }),
        );
        return true;
      } catch (e) {
        const st = statusOf(e);
        if (st === 412) {
          // The SDK retries failed requests itself. If an earlier try of this very PUT reached S3 and only
          // its answer was lost, the retry meets our own object: the same bytes mean we won.
          if (attemptsOf(e) > 1) return (await this.read(relPath))?.equals(data) ?? false;
          return false;
        }
        // 409 ConditionalRequestConflict: another conditional write of this key is in flight. Asking again
        // after it settles tells whether it won (412) or the key is still free.
        if (st === 409 && attempt < 6) {
          await sleep(Math.random() * 25 * 2 ** attempt);
          continue;
        }
        throw this.fail('conditional PutObject', key, e);
      }
    }
  }

  async write(relPath: string, data: Buffer): Promise<void> {
    const key = this.key(relPath);
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: data, ContentLength: data.length }));
    } catch (e) {
      throw this.fail('PutObject', key, e);
    }
  }

  async list(relDir: string, opts: ListOptions = {}): Promise<FileInfo[]> {
    const dir = relDir.replace(/^\/+|\/+$/g, '');
    const listPrefix = dir === '' ? this.keyBase : this.key(dir) + '/';
    const out: FileInfo[] = [];
    let token: string | undefined;
    try {
      do {
        const r = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: listPrefix,
            Delimiter: opts.recursive ? undefined : '/',
            ContinuationToken: token,
            // Keys after it only; the first request sets where the listing starts, the token carries on from there.
            StartAfter: opts.startAfter !== undefined && !token ? this.keyBase + opts.startAfter : undefined,
            MaxKeys: opts.limit !== undefined ? Math.max(1, Math.min(opts.limit - out.length, this.listPageSize ?? 1000)) : this.listPageSize,
          }),
        );
        for (const o of r.Contents ?? []) {
          // Keys ending in '/' are folder markers some tools create, not files.
          if (!o.Key || o.Key.endsWith('/') || !o.Key.startsWith(this.keyBase)) continue;
          if (opts.startAfter !== undefined && !(o.Key.slice(this.keyBase.length) > opts.startAfter)) continue; // servers ignoring StartAfter
          out.push({ path: o.Key.slice(this.keyBase.length), size: o.Size ?? 0, modificationTime: o.LastModified?.getTime() ?? 0 });
        }
        token = r.IsTruncated && (opts.limit === undefined || out.length < opts.limit) ? r.NextContinuationToken : undefined;
      } while (token);
    } catch (e) {
      throw this.fail('ListObjectsV2', listPrefix, e);
    }
    out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return opts.limit !== undefined ? out.slice(0, opts.limit) : out;
  }

  async delete(relPath: string): Promise<void> {
    const key = this.key(relPath);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (e) {
      if (isMissingKey(e)) return;
      throw this.fail('DeleteObject', key, e);
    }
  }

  async stat(relPath: string): Promise<{ size: number; modificationTime: number } | null> {
    const head = await this.head(this.key(relPath));
    return head && { size: head.size, modificationTime: head.modificationTime };
  }

  private async head(key: string): Promise<{ size: number; modificationTime: number; etag: string } | null> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: r.ContentLength ?? 0, modificationTime: r.LastModified?.getTime() ?? 0, etag: r.ETag ?? '' };
    } catch (e) {
      if (isMissingKey(e)) return null;
      throw this.fail('HeadObject', key, e);
    }
  }

  /**
   * A local copy for readers that need a file (DuckDB), in the cache directory (settings.cacheDir).
   * A copy's name is a hash of the bucket, key, ETag and size, so a copy is downloaded once and an
   * object replaced under the same key (another ETag) is never served stale. A file of that name is
   * trusted when its size matches because only this user can have put it there: the directory is
   * checked to be ours and not group/world-writable before anything in it is used, and a file enters
   * it only by rename after a complete download made with If-Match on that ETag. Files are 0600.
   */
  async localPath(relPath: string): Promise<string> {
    const key = this.key(relPath);
    await this.cacheReady();
    for (let attempt = 1; ; attempt++) {
      const head = await this.head(key);
      if (!head) throw new DeltaError('DELTA_STORAGE', `S3 object s3://${this.bucket}/${key} does not exist`);
      const id = createHash('sha256').update(`${this.bucket}\0${key}\0${head.etag}\0${head.size}`).digest('hex').slice(0, 40);
      const ext = path.extname(key);
      const file = path.join(this.cacheDir, id + (/^\.[A-Za-z0-9]{1,16}$/.test(ext) ? ext : ''));
      const cached = await fs.lstat(file).catch(() => null);
      if (cached?.isFile() && cached.size === head.size) {
        // Marks it used, so the pruning of unused copies keeps it.
        if (Date.now() - cached.mtimeMs > TOUCH_AFTER_MS) await fs.utimes(file, new Date(), new Date()).catch(() => {});
        return file;
      }
      let pending = downloads.get(file);
      if (!pending) {
        pending = this.download(key, head.etag, head.size, file).finally(() => downloads.delete(file));
        downloads.set(file, pending);
      }
      try {
        return await pending;
      } catch (e) {
        // 412: the object was replaced between HEAD and GET; look again.
        if (statusOf((e as Error).cause ?? e) === 412 && attempt < 3) continue;
        throw e;
      }
    }
  }

  /** The cache directory, created 0700 and checked to be private to us, pruned once per process. */
  private cacheReady(): Promise<void> {
    const dir = this.cacheDir;
    let ready = readyCacheDirs.get(dir);
    if (!ready) {
      ready = (async () => {
        const problem = privateDirProblem(dir);
        if (problem) {
          throw new DeltaError(
            'DELTA_STORAGE',
            `the S3 object cache directory ${dir} ${problem}; it must be private to this user: remove it, or set RESTLAKE_S3_CACHE_DIR to a directory of your own`,
          );
        }
        await pruneS3Cache(dir);
      })();
      readyCacheDirs.set(dir, ready);
      ready.catch(() => readyCacheDirs.delete(dir));
    }
    return ready;
  }

  private async download(key: string, etag: string, size: number, file: string): Promise<string> {
    const part = `${file}.${randomUUID()}.part`;
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, IfMatch: etag || undefined }));
      await pipeline(r.Body as Readable, createWriteStream(part, { flags: 'wx', mode: 0o600 }));
      const got = (await fs.stat(part)).size;
      if (got !== size) throw new Error(`downloaded ${got} bytes, expected ${size}`);
      await fs.rename(part, file); // same content under a content-derived name: replacing a twin is harmless
      return file;
    } catch (e) {
      await fs.rm(part, { force: true });
      throw this.fail('GetObject (to local cache)', key, e);
    }
  }

  /** Uploads a finished local file and removes it, like LocalStorage's move. */
  async uploadLocal(localFile: string, relPath: string): Promise<void> {
    const key = this.key(relPath);
    try {
      await uploadFile(this.client, this.bucket, key, localFile, this.uploadOptions);
    } catch (e) {
      throw this.fail('upload', key, e);
    }
    await fs.rm(localFile, { force: true });
  }
}

/**
 * Removes cached copies unused (not read through localPath) for S3_CACHE_MAX_AGE_MS and downloads
 * left unfinished for a day; returns how many files it removed. Other files are left alone.
 */
export async function pruneS3Cache(dir: string, now = Date.now()): Promise<number> {
  let removed = 0;
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const part = name.endsWith('.part');
    if (!part && !/^[0-9a-f]{40}(\.[A-Za-z0-9]{1,16})?$/.test(name)) continue;
    const file = path.join(dir, name);
    const st = await fs.lstat(file).catch(() => null);
    if (!st?.isFile() || now - st.mtimeMs <= (part ? PART_MAX_AGE_MS : S3_CACHE_MAX_AGE_MS)) continue;
    await fs.rm(file, { force: true });
    removed++;
  }
  return removed;
}

function statusOf(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function attemptsOf(e: unknown): number {
  return (e as { $metadata?: { attempts?: number } } | undefined)?.$metadata?.attempts ?? 1;
}

/** 404 for the key itself; a missing bucket is a real error, not an absent file. */
function isMissingKey(e: unknown): boolean {
  return statusOf(e) === 404 && (e as Error).name !== 'NoSuchBucket';
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

registerStorageScheme('s3', (uri) => new S3Storage(uri));
