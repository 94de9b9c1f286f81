// Result lines go to NDJSON files on local disk between commits, so results of any
// volume never sit in memory; each closed file is one commit's input.
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

const NEWLINE = Buffer.from('\n');

export interface SpoolFile {
  path: string;
  rows: number;
}

export class Spool {
  private seq = 0;
  private stream: WriteStream | null = null;
  private path = '';
  private buf: Buffer[] = [];
  private bufBytes = 0;
  rows = 0;

  constructor(private readonly dir: string) {}

  /** One result line (without its newline); Buffers from a worker go to disk without re-encoding. */
  append(line: Buffer | string): void {
    if (!this.stream) this.open();
    const b = typeof line === 'string' ? Buffer.from(line) : line;
    this.buf.push(b, NEWLINE);
    this.bufBytes += b.length + 1;
    this.rows++;
    // Batched writes: one syscall per ~1 MB instead of one per row.
    if (this.bufBytes >= 1 << 20) this.flush();
  }

  private open(): void {
    this.path = join(this.dir, `results-${String(this.seq++).padStart(6, '0')}.ndjson`);
    this.stream = createWriteStream(this.path, { flags: 'w', mode: 0o600 });
  }

  private flush(): void {
    if (!this.stream || this.buf.length === 0) return;
    this.stream.write(Buffer.concat(this.buf, this.bufBytes));
    this.buf = [];
    this.bufBytes = 0;
  }

  /** Closes the current file (null when empty) and starts a new one on the next append. */
  async rotate(): Promise<SpoolFile | null> {
    if (!this.stream) return null;
    this.flush();
    const stream = this.stream;
    const file = { path: this.path, rows: this.rows };
    this.stream = null;
    this.rows = 0;
    await new Promise<void>((resolve, reject) => {
      stream.once('error', reject);
      stream.end(() => resolve());
    });
    return file;
  }

  static async remove(file: SpoolFile): Promise<void> {
    await rm(file.path, { force: true });
  }
}
