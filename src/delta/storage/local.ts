// Local-disk storage. Commit files are created with link(2), which fails with EEXIST when the target exists,
// so two processes racing for the same version can never both win (rename would silently overwrite).
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DeltaError } from '../errors.js';
import type { FileInfo, ListOptions, Storage } from './types.js';

const LOG_DIR_NAME = '_delta_log';

export class LocalStorage implements Storage {
  readonly root: string;

  /** See forExistingTable. */
  private existingTable = false;

  constructor(root: string) {
    this.root = path.resolve(root.startsWith('file://') ? decodeURIComponent(new URL(root).pathname) : root);
  }

  forExistingTable(): Storage {
    if (this.existingTable) return this;
    // A view of this very object that creates no table directories: it inherits this
    // object's methods (a subclass's too) and fields; a field set on it stays on it.
    const view = Object.create(this) as LocalStorage;
    view.existingTable = true;
    return view;
  }

  /**
   * Creates the directory a file goes to. For a table that exists, the root and
   * _delta_log must be there already (ENOENT when they are gone: `rm -rf` of the table
   * mid-commit); only directories below the root (partitions) are created.
   */
  private async parentDir(target: string): Promise<void> {
    const dir = path.dirname(target);
    if (!this.existingTable) {
      await fs.mkdir(dir, { recursive: true });
      return;
    }
    const logDir = path.join(this.root, LOG_DIR_NAME);
    let at = this.root;
    for (const part of path.relative(this.root, dir).split(path.sep).filter(Boolean)) {
      at = path.join(at, part);
      if (at === logDir) continue;
      try {
        await fs.mkdir(at);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
  }

  private abs(relPath: string): string {
    const p = path.resolve(this.root, relPath);
    if (p !== this.root && !p.startsWith(this.root + path.sep)) {
      throw new DeltaError('DELTA_INVALID_ARGUMENT', `path '${relPath}' escapes the table root ${this.root}`);
    }
    return p;
  }

  async read(relPath: string): Promise<Buffer | null> {
    try {
      return await fs.readFile(this.abs(relPath));
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async putIfAbsent(relPath: string, data: Buffer): Promise<boolean> {
    const target = this.abs(relPath);
    await this.parentDir(target);
    const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${randomUUID()}.tmp`);
    await fs.writeFile(tmp, data, { flag: 'wx' });
    try {
      await fs.link(tmp, target);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  async write(relPath: string, data: Buffer): Promise<void> {
    const target = this.abs(relPath);
    await this.parentDir(target);
    // temp + rename so a reader never sees a half-written file (e.g. _last_checkpoint)
    const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${randomUUID()}.tmp`);
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, target);
  }

  async list(relDir: string, opts: ListOptions = {}): Promise<FileInfo[]> {
    // Names first (readdir), then a stat only for those the options keep: a long _delta_log listed from a
    // version, or for its first few entries, costs one readdir rather than a stat per file.
    const names: string[] = [];
    const walk = async (rel: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await fs.readdir(this.abs(rel), { withFileTypes: true });
      } catch (e) {
        if (isNotFound(e) || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return;
        throw e;
      }
      for (const ent of entries) {
        const childRel = rel ? `${rel}/${ent.name}` : ent.name;
        if (ent.isDirectory()) {
          if (opts.recursive) await walk(childRel);
        } else if (ent.isFile() && (opts.startAfter === undefined || childRel > opts.startAfter)) {
          names.push(childRel);
        }
      }
    };
    await walk(relDir.replace(/\/+$/, ''));
    names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const out: FileInfo[] = [];
    for (const childRel of names) {
      if (opts.limit !== undefined && out.length >= opts.limit) break;
      try {
        const st = await fs.stat(this.abs(childRel));
        out.push({ path: childRel, size: st.size, modificationTime: Math.floor(st.mtimeMs) });
      } catch (e) {
        if (!isNotFound(e)) throw e; // deleted while listing
      }
    }
    return out;
  }

  async delete(relPath: string): Promise<void> {
    await fs.rm(this.abs(relPath), { force: true });
  }

  async localPath(relPath: string): Promise<string> {
    return this.abs(relPath);
  }

  async uploadLocal(localFile: string, relPath: string): Promise<void> {
    const target = this.abs(relPath);
    await this.parentDir(target);
    try {
      await fs.rename(localFile, target);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
      await fs.copyFile(localFile, target);
      await fs.rm(localFile, { force: true });
    }
  }

  async stat(relPath: string): Promise<{ size: number; modificationTime: number } | null> {
    try {
      const st = await fs.stat(this.abs(relPath));
      return { size: st.size, modificationTime: Math.floor(st.mtimeMs) };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }
}

function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === 'ENOENT';
}
