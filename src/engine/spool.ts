// Result lines go to NDJSON files on local disk between commits, so results of any
// volume never sit in memory; each closed file is one commit's input.
import { createWriteStream, type WriteStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';

const NEWLINE = Buffer.from('\n');

export interface SpoolFile {
  path: string;
  rows: number;
  /** Bytes of the file's longest line: the commit's JSON reader sizes its buffer by it. */
  longestLine: number;
}

export class Spool {
  private seq = 0;
  private stream: WriteStream | null = null;
  private path = '';
  /** Pending regions, each one or more whole lines without the last newline. */
  private regions: Buffer[] = [];
  private pendingBytes = 0;
  /** All bytes of the memory the last region lies in (to see the byte after it). */
  private lastMemory: Uint8Array | null = null;
  rows = 0;
  private longest = 0;
  /** Why the current file could not be written (a full disk, a file-size limit); null while it can. */
  private failure: Error | null = null;
  /** Lines dropped because the file they were for had failed. */
  dropped = 0;

  /**
   * `onError`: the spool could not write a file (ENOSPC, EFBIG, ...), called once per
   * file; lines for it are dropped from then on, and `rotate` gives what made it to disk.
   */
  constructor(
    readonly dir: string,
    private readonly onError: (error: Error) => void = () => {},
  ) {}

  /**
   * One result line (without its newline); Buffers from a worker go to disk as they are.
   * Lines that lie one after the other in the same chunk (a worker's output arrives as
   * 64 KB chunks of many lines) join into one region: no copy, and one write per chunk
   * instead of one per line.
   */
  append(line: Buffer | string): void {
    if (!this.stream) this.open();
    if (this.failure) {
      this.dropped++;
      return;
    }
    const b = typeof line === 'string' ? Buffer.from(line) : line;
    const n = this.regions.length;
    const last = n > 0 ? this.regions[n - 1]! : null;
    const end = last ? last.byteOffset + last.length : -1;
    // The next line starts right after the previous one's newline in the same memory:
    // the region grows over both (the byte between them is that very newline).
    if (last && b.buffer === last.buffer && b.byteOffset === end + 1 && this.lastMemory![end] === 0x0a) {
      this.regions[n - 1] = Buffer.from(b.buffer, last.byteOffset, last.length + 1 + b.length);
    } else {
      this.regions.push(b);
      this.lastMemory = new Uint8Array(b.buffer);
    }
    this.pendingBytes += b.length + 1;
    if (b.length > this.longest) this.longest = b.length;
    this.rows++;
    // Batched writes: one write call per ~1 MB instead of one per row.
    if (this.pendingBytes >= 1 << 20) this.flush();
  }
  private open(): void {
    this.path = join(this.dir, `results-${String(this.seq++).padStart(6, '0')}.ndjson`);
    const stream = createWriteStream(this.path, { flags: 'w', mode: 0o600 });
    this.stream = stream;
    this.failure = null;
    // Without a listener a failed write (a full TMPDIR, ulimit -f) would kill the process.
    let failed = false;
    stream.on('error', (e) => {
      if (failed) return;
      failed = true;
      if (this.stream === stream) {
        this.failure = e;
        this.regions = [];
        this.lastMemory = null;
        this.pendingBytes = 0;
      }
      this.onError(e);
    });
  }

  private flush(): void {
    if (!this.stream || this.failure || this.regions.length === 0) return;
    // Corked, the stream hands every region and newline to one writev.
    this.stream.cork();
    for (const r of this.regions) {
      this.stream.write(r);
      this.stream.write(NEWLINE);
    }
    this.stream.uncork();
    this.regions = [];
    this.lastMemory = null;
    this.pendingBytes = 0;
  }

  /** Closes the current file (null when empty) and starts a new one on the next append. */
  async rotate(): Promise<SpoolFile | null> {
    if (!this.stream) return null;
    this.flush();
    const stream = this.stream;
    const file = { path: this.path, rows: this.rows, longestLine: this.longest };
    this.stream = null;
    this.rows = 0;
    this.longest = 0;
    const ok = !stream.errored && (await new Promise<boolean>((resolve) => {
      stream.once('error', () => resolve(false));
      stream.end(() => resolve(!stream.errored));
    }));
    if (ok) return file;
    // The file failed: its whole lines, up to the bytes known written, are still results.
    await new Promise<void>((resolve) => (stream.closed ? resolve() : stream.once('close', () => resolve())));
    return salvage(file.path, stream.bytesWritten);
  }

  static async remove(file: SpoolFile): Promise<void> {
    await rm(file.path, { force: true });
  }
}

/**
 * The whole lines among a failed spool file's first `written` bytes, the file cut after
 * the last of them; null when there is none (the file is removed).
 */
async function salvage(path: string, written: number): Promise<SpoolFile | null> {
  let rows = 0;
  let longest = 0;
  let lastEnd = 0;
  const fh = await open(path, 'r+').catch(() => null);
  if (!fh) return null;
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let at = 0; at < written; ) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, written - at), at);
      if (bytesRead === 0) break;
      for (let i = buf.indexOf(0x0a); i !== -1 && i < bytesRead; i = buf.indexOf(0x0a, i + 1)) {
        const end = at + i + 1;
        longest = Math.max(longest, end - 1 - lastEnd);
        lastEnd = end;
        rows++;
      }
      at += bytesRead;
    }
    if (rows > 0) await fh.truncate(lastEnd);
  } finally {
    await fh.close();
  }
  if (rows === 0) {
    await rm(path, { force: true });
    return null;
  }
  return { path, rows, longestLine: longest };
}
