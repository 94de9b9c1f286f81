// Storage dispatch by URI scheme. S3 lives in ./s3.js (owned by infra) and registers itself on import;
// it is loaded lazily so local-only users never load the AWS SDK.
import { DeltaError } from '../errors.js';
import { LocalStorage } from './local.js';
import type { ListOptions, Storage } from './types.js';

type Factory = (uri: string) => Storage;
const factories = new Map<string, Factory>();

export function registerStorageScheme(scheme: string, factory: Factory): void {
  factories.set(scheme.toLowerCase().replace(/:\/*$/, ''), factory);
}

export function schemeOf(uri: string): string | null {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(uri);
  return m ? m[1].toLowerCase() : null;
}

/** Whether `uri` is an S3 path (s3://, s3a:// or s3n://), as openStorage reads it. */
export function isS3Uri(uri: string): boolean {
  const scheme = schemeOf(uri);
  return scheme === 's3' || scheme === 's3a' || scheme === 's3n';
}

/**
 * Opens storage for a table root. For schemes other than local/file the module must be registered
 * first; `openStorageAsync` (used by DeltaTable) imports the S3 module on demand.
 */
export function openStorage(uri: string): Storage {
  const scheme = schemeOf(uri);
  if (scheme === null || scheme === 'file') return new LocalStorage(uri);
  const f = factories.get(scheme === 's3a' || scheme === 's3n' ? 's3' : scheme);
  if (f) return f(uri);
  if (isS3Uri(uri)) return new LazyStorage(uri);
  throw new DeltaError('DELTA_STORAGE', `no storage for scheme '${scheme}://' (table ${uri})`);
}

/** Defers loading ./s3.js until the first call, so openStorage stays synchronous. */
class LazyStorage implements Storage {
  private inner: Promise<Storage> | null = null;
  constructor(readonly root: string) {}
  private get(): Promise<Storage> {
    this.inner ??= (async () => {
      const modPath = './s3.js';
      try {
        await import(modPath);
      } catch (e) {
        throw new DeltaError('DELTA_STORAGE', `S3 storage is not available: ${(e as Error).message}`, { cause: e });
      }
      const f = factories.get('s3');
      if (!f) throw new DeltaError('DELTA_STORAGE', 'S3 storage module did not register the s3 scheme');
      return f(this.root);
    })();
    return this.inner;
  }
  async read(p: string) { return (await this.get()).read(p); }
  async putIfAbsent(p: string, d: Buffer) { return (await this.get()).putIfAbsent(p, d); }
  async write(p: string, d: Buffer) { return (await this.get()).write(p, d); }
  async list(p: string, o?: ListOptions) { return (await this.get()).list(p, o); }
  async delete(p: string) { return (await this.get()).delete(p); }
  async localPath(p: string) { return (await this.get()).localPath(p); }
  async uploadLocal(l: string, p: string) { return (await this.get()).uploadLocal(l, p); }
  async stat(p: string) { return (await this.get()).stat(p); }
  // S3 has no directories to recreate: every view is this one.
  forExistingTable(): Storage { return this; }
}
