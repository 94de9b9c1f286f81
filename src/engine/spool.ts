// Result lines go to NDJSON files on local disk between commits, so results of any
// volume never sit in memory; the files spooled between two rotations are one commit's input.
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { chunksOf } from '../source/lines.js';

const NEWLINE = Buffer.from('\n');

/**
 * A commit's input is cut into files of about this many bytes (a line longer than that
 * gets a file of its own). DuckDB's JSON reader hands out a file's rows in chunks of up
 * to 2,048 rows, never a chunk across two files, and its Parquet writer holds whole
 * chunks in a row group: so one file's bytes bound what the commit holds at a time.
 * In one file, 2,048 rows of 20 KB results were a 40 MB chunk, and the commit ran out
 * of DuckDB's 128 MB. 4 MB files cost no measurable time (50k rows of 12 KB or of
 * 500 bytes: the same CPU as one file).
 */
export const SPOOL_FILE_BYTES = 4 << 20;

export interface SpoolFile {
  /** The files, in the order their lines were spooled. */
  paths: string[];
  rows: number;
  /** Bytes of the longest line: the commit's JSON reader sizes its buffer by it. */
  longestLine: number;
}

/** A file of the current rotation: its stream, its lines, and (once ended) whether all was written. */
interface OpenFile {
  path: string;
  stream: WriteStream;
  rows: number;
  ended: Promise<boolean> | null;
}

export class Spool {
  private seq = 0;
  /** The files since the last rotation, in order; the last one is `current`. */
  private files: OpenFile[] = [];
  private current: OpenFile | null = null;
  /** Bytes (lines and newlines) in the current file, pending ones included. */
  private fileBytes = 0;
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
   * `fileLimit`: bytes per file (SPOOL_FILE_BYTES; tests make it smaller).
   */
  constructor(
    readonly dir: string,
    private readonly onError: (error: Error) => void = () => {},
    private readonly fileLimit = SPOOL_FILE_BYTES,
  ) {}

  /**
   * One result line (without its newline); Buffers from a worker go to disk as they are.
   * Lines that lie one after the other in the same chunk (a worker's output arrives as
   * 64 KB chunks of many lines) join into one region: no copy, and one write per chunk
   * instead of one per line.
   */
  append(line: Buffer | string): void {
    const b = typeof line === 'string' ? Buffer.from(line) : line;
    if (!this.current) this.open();
    else if (this.fileBytes > 0 && this.fileBytes + b.length + 1 > this.fileLimit) this.next();
    if (this.failure) {
      this.dropped++;
      return;
    }
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
    this.fileBytes += b.length + 1;
    if (b.length > this.longest) this.longest = b.length;
    this.current!.rows++;
    this.rows++;
    // Batched writes: one write call per ~1 MB instead of one per row.
    if (this.pendingBytes >= 1 << 20) this.flush();
  }

  private open(): void {
    const path = join(this.dir, `results-${String(this.seq++).padStart(6, '0')}.ndjson`);
    const stream = createWriteStream(path, { flags: 'w', mode: 0o600 });
    const file: OpenFile = { path, stream, rows: 0, ended: null };
    this.files.push(file);
    this.current = file;
    this.fileBytes = 0;
    this.failure = null;
    // Without a listener a failed write (a full TMPDIR, ulimit -f) would kill the process.
    let failed = false;
    stream.on('error', (e) => {
      if (failed) return;
      failed = true;
      if (this.current === file) {
        this.failure = e;
        this.regions = [];
        this.lastMemory = null;
        this.pendingBytes = 0;
      }
      this.onError(e);
    });
  }

  /** Ends the current file (rotate waits for it) and opens the next. */
  private next(): void {
    this.flush();
    this.current!.ended = endFile(this.current!.stream);
    this.open();
  }

  private flush(): void {
    if (!this.current || this.failure || this.regions.length === 0) return;
    const stream = this.current.stream;
    // Corked, the stream hands every region and newline to one writev.
    stream.cork();
    for (const r of this.regions) {
      stream.write(r);
      stream.write(NEWLINE);
    }
    stream.uncork();
    this.regions = [];
    this.lastMemory = null;
    this.pendingBytes = 0;
  }

  /**
   * Closes the current files (null when there are none, or none kept a line) and starts
   * new ones on the next append. A file that failed gives its whole lines up to the
   * bytes known written.
   */
  async rotate(): Promise<SpoolFile | null> {
    if (!this.current) return null;
    this.flush();
    this.current.ended = endFile(this.current.stream);
    const files = this.files;
    const longestLine = this.longest;
    this.files = [];
    this.current = null;
    this.rows = 0;
    this.longest = 0;
    const paths: string[] = [];
    let rows = 0;
    for (const f of files) {
      if (await f.ended) {
        paths.push(f.path);
        rows += f.rows;
        continue;
      }
      const kept = await salvage(f.path, f.stream.bytesWritten);
      if (kept > 0) {
        paths.push(f.path);
        rows += kept;
      }
    }
    return paths.length > 0 ? { paths, rows, longestLine } : null;
  }

  static async remove(file: SpoolFile): Promise<void> {
    await Promise.all(file.paths.map((p) => rm(p, { force: true })));
  }
}

/** Ends `stream`: true once everything is written, false when a write failed (once it is closed). */
function endFile(stream: WriteStream): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const failed = (): void => {
      if (stream.closed) resolve(false);
      else stream.once('close', () => resolve(false));
    };
    if (stream.errored) return failed();
    stream.once('error', failed);
    stream.end(() => (stream.errored ? failed() : resolve(true)));
  });
}

/**
 * The whole lines among a failed spool file's first `written` bytes: the file is cut
 * after the last of them, or removed when there is none. Returns how many.
 */
async function salvage(path: string, written: number): Promise<number> {
  let rows = 0;
  let lastEnd = 0;
  let at = 0;
  try {
    for await (const chunk of chunksOf(path, written)) {
      for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) {
        lastEnd = at + i + 1;
        rows++;
      }
      at += chunk.length;
    }
  } catch (e) {
    if (at === 0) return 0; // the file cannot be opened: nothing to keep
    throw e;
  }
  if (rows > 0) await truncate(path, lastEnd);
  else await rm(path, { force: true });
  return rows;
}
