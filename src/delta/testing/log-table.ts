// Test helpers for log tests: a storage that records its listings, and tables made of raw commits.
import { DeltaTable, LocalStorage, type Action, type FileInfo, type ListOptions, type Storage } from '../index.js';

const SCHEMA = '{"type":"struct","fields":[{"name":"a","type":"integer","nullable":true,"metadata":{}}]}';

/** Delegates to LocalStorage, recording each list call; deletes can be made to fail. */
export class SpyStorage implements Storage {
  readonly inner: LocalStorage;
  lists: { dir: string; opts: ListOptions; returned: number }[] = [];
  failDeletes = false;
  constructor(dir: string) {
    this.inner = new LocalStorage(dir);
  }
  get root(): string {
    return this.inner.root;
  }
  read(p: string) { return this.inner.read(p); }
  putIfAbsent(p: string, d: Buffer) { return this.inner.putIfAbsent(p, d); }
  write(p: string, d: Buffer) { return this.inner.write(p, d); }
  async list(dir: string, opts: ListOptions = {}): Promise<FileInfo[]> {
    const r = await this.inner.list(dir, opts);
    this.lists.push({ dir, opts, returned: r.length });
    return r;
  }
  async delete(p: string): Promise<void> {
    if (this.failDeletes) throw new Error(`EACCES: cannot delete ${p}`);
    return this.inner.delete(p);
  }
  localPath(p: string) { return this.inner.localPath(p); }
  uploadLocal(l: string, p: string) { return this.inner.uploadLocal(l, p); }
  stat(p: string) { return this.inner.stat(p); }
}

export const add = (v: number): Action => ({ add: { path: `part-${v}.parquet`, partitionValues: {}, size: 100 + v, modificationTime: 1, dataChange: true } });

/** Commits 0..last (one add each) through DeltaTable.commit; no automatic checkpoints unless `configuration` asks. */
export async function makeTable(dir: string, last: number, configuration: Record<string, string> = { 'delta.checkpointInterval': '1000' }, storage?: Storage): Promise<DeltaTable> {
  const t = DeltaTable.forPath(dir, storage);
  await t.commit([
    { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
    { metaData: { id: 'cleanup', format: { provider: 'parquet', options: {} }, schemaString: SCHEMA, partitionColumns: [], configuration, createdTime: 1 } },
    add(0),
  ], { readVersion: -1 });
  for (let v = 1; v <= last; v++) await t.commit([add(v)]);
  return t;
}

