// Live progress: one line redrawn in place on a terminal, a plain line every
// `plainEveryMs` otherwise (CI logs, files).
import type { ProgressSnapshot } from '../engine/stats.js';
import type { CommandIO } from './commands.js';
import { duration, int } from './format.js';

export function progressLine(p: ProgressSnapshot): string {
  const total = p.expected !== null ? `/${int(p.expected)}` : '';
  const left = p.expected !== null ? p.expected - p.rows : null;
  const eta = left !== null && p.rows_per_second > 0 && left > 0 ? `  ETA ${duration((left / p.rows_per_second) * 1000)}` : '';
  return `rows ${int(p.rows)}${total}  ${int(p.rows_per_second)} rows/s  ok ${int(p.succeeded)}  failed ${int(p.failed)}  in flight ${int(p.in_flight)}${eta}`;
}

export class ProgressPrinter {
  private lastPlain = 0;
  private drawn = false;

  constructor(
    private readonly io: CommandIO,
    private readonly plainEveryMs = 10_000,
  ) {}

  private get tty(): boolean {
    return this.io.stderr.isTTY === true;
  }

  update(p: ProgressSnapshot): void {
    const line = progressLine(p);
    if (this.tty) {
      this.io.stderr.write(`\r\x1b[2K${line}`);
      this.drawn = true;
    } else if (Date.now() - this.lastPlain >= this.plainEveryMs) {
      this.lastPlain = Date.now();
      this.io.stderr.write(`${line}\n`);
    }
  }

  /** Clears the live line before other output. */
  clear(): void {
    if (this.drawn) {
      this.io.stderr.write('\r\x1b[2K');
      this.drawn = false;
    }
  }
}
