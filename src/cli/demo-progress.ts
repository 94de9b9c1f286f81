// Live progress for several pipelines running at once. On a terminal: one line
// per pipeline, redrawn in place (rows, a bar, rows/s, ok/failed, ETA). Elsewhere
// (CI logs, Airflow task logs): a plain line per pipeline every few seconds, and
// only when something changed, so logs stay readable.

export interface PipelineProgress {
  rows: number;
  succeeded: number;
  failed: number;
  expected: number | null;
  rows_per_second: number;
  elapsed_ms: number;
}

type State = 'waiting' | 'running' | 'done' | 'failed';

interface Line {
  name: string;
  state: State;
  p: PipelineProgress;
  note: string;
  printed: string;
}

export interface ProgressOutput {
  write(s: string): unknown;
}

export class ProgressBoard {
  private readonly lines: Line[];
  private readonly width: number;
  private drawn = 0;
  private timer: NodeJS.Timeout | null = null;
  private lastPlain = 0;

  constructor(
    names: string[],
    private readonly out: ProgressOutput,
    private readonly mode: 'tty' | 'plain' | 'quiet',
    private readonly plainEveryMs = 2000,
  ) {
    this.lines = names.map((name) => ({ name, state: 'waiting', p: { rows: 0, succeeded: 0, failed: 0, expected: null, rows_per_second: 0, elapsed_ms: 0 }, note: '', printed: '' }));
    this.width = Math.max(...names.map((n) => n.length), 8);
  }

  start(): void {
    if (this.mode === 'quiet') return;
    if (this.mode === 'tty') {
      this.out.write('\x1b[?25l'); // hide the cursor while redrawing
      this.draw();
      this.timer = setInterval(() => this.draw(), 200);
    } else {
      this.timer = setInterval(() => this.plain(false), this.plainEveryMs);
    }
    this.timer.unref();
  }

  /** The rows a pipeline will send, shown before its first progress report. */
  expect(name: string, rows: number): void {
    this.find(name).p.expected = rows;
  }

  update(name: string, p: PipelineProgress): void {
    const l = this.find(name);
    if (l.state === 'waiting') l.state = 'running';
    l.p = p;
  }

  finish(name: string, p: PipelineProgress, note = ''): void {
    const l = this.find(name);
    l.state = 'done';
    l.p = p;
    l.note = note;
  }

  fail(name: string, message: string): void {
    const l = this.find(name);
    l.state = 'failed';
    l.note = message;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.mode === 'tty') {
      this.draw();
      this.out.write('\x1b[?25h');
    } else if (this.mode === 'plain') this.plain(true);
  }

  /** The text of one pipeline's line (no colours; the TTY adds them). */
  render(name: string): string {
    const l = this.find(name);
    const { p } = l;
    const total = l.state === 'done' ? p.rows : p.expected;
    const count = total !== null ? `${fmt(p.rows).padStart(7)}/${fmt(total).padEnd(7)}` : `${fmt(p.rows).padStart(7)}        `;
    const frac = total ? Math.min(1, p.rows / total) : l.state === 'done' ? 1 : 0;
    const bar = '█'.repeat(Math.round(frac * 20)).padEnd(20, '░');
    const rate = `${fmt(Math.round(p.rows_per_second)).padStart(6)} rows/s`;
    const okf = `ok ${fmt(p.succeeded).padStart(6)}  failed ${fmt(p.failed).padStart(4)}`;
    let tail: string;
    if (l.state === 'failed') tail = `FAILED: ${l.note}`;
    else if (l.state === 'done') tail = `done in ${(p.elapsed_ms / 1000).toFixed(1)}s${l.note ? ' ' + l.note : ''}`;
    else if (l.state === 'waiting') tail = 'starting…';
    else tail = `ETA ${eta(p, total)}`;
    return `${l.name.padEnd(this.width)}  ${count} ${bar} ${rate}  ${okf}  ${tail}`;
  }

  private find(name: string): Line {
    const l = this.lines.find((x) => x.name === name);
    if (!l) throw new Error(`progress: unknown pipeline ${name}`);
    return l;
  }

  private draw(): void {
    let s = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    for (const l of this.lines) {
      const text = this.render(l.name);
      const colour = l.state === 'failed' || (l.state === 'done' && l.p.failed > 0) ? '\x1b[31m' : l.state === 'done' ? '\x1b[32m' : '';
      s += `\x1b[2K\r${colour}${text}${colour ? '\x1b[0m' : ''}\n`;
    }
    this.drawn = this.lines.length;
    this.out.write(s);
  }

  private plain(final: boolean): void {
    const now = Date.now();
    if (!final && now - this.lastPlain < this.plainEveryMs / 2) return;
    this.lastPlain = now;
    for (const l of this.lines) {
      const text = this.render(l.name);
      if (text === l.printed) continue;
      if (!final && l.state === 'waiting') continue;
      l.printed = text;
      this.out.write(text + '\n');
    }
  }
}

export function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function eta(p: PipelineProgress, total: number | null): string {
  if (total === null || p.rows_per_second <= 0) return '–';
  const s = Math.ceil(Math.max(0, (total - p.rows) / p.rows_per_second));
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}
