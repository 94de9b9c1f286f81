// The worker's stream loop: JSON-lines rows in, JSON-lines results out, up to
// `concurrency` rows in flight. Input is paused whenever the pool is full or the
// output cannot take more, so a fast producer never grows this process's memory.
import type { Readable, Writable } from 'node:stream';
import { LineSplitter, utf8Lines } from './lines.js';
import { BoundedPool } from './pool.js';

export interface ServeOptions {
  input: Readable;
  output: Writable;
  /** Turns one input line into one result line; must not throw. */
  handle: (line: string) => Promise<string>;
  concurrency: number;
  /** Rows allowed to wait behind the in-flight ones (default: concurrency). */
  queueLimit?: number;
  /**
   * The run is stopping: rows not started yet are dropped without a result and no more
   * input is read; the rows in flight finish. The driver still holds the dropped rows
   * as unanswered and leaves them for the next run.
   */
  drain?: AbortSignal;
}

export interface ServeStats {
  rows: number;
  /** Rows dropped unstarted by a drain. */
  dropped: number;
}

export async function serveLines(opts: ServeOptions): Promise<ServeStats> {
  const { input, output, handle } = opts;
  const stats: ServeStats = { rows: 0, dropped: 0 };

  // Results are batched into one write per macrotask: far fewer syscalls than a
  // write per row at thousands of rows per second.
  let pending: string[] = [];
  let flushScheduled = false;
  // Set while the output is over its buffer; one 'drain' listener at a time (further
  // writes meanwhile just queue behind it).
  let drained: Promise<void> | null = null;
  const flush = (): void => {
    flushScheduled = false;
    if (pending.length === 0) return;
    const lines = pending;
    pending = [];
    if (!output.write(utf8Lines(lines)) && drained === null) {
      drained = new Promise<void>((resolve) =>
        output.once('drain', () => {
          drained = null;
          resolve();
          maybeResume();
        }),
      );
    }
  };
  const emit = (line: string): void => {
    pending.push(line);
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  };

  const pool = new BoundedPool<string>(opts.concurrency, opts.queueLimit ?? opts.concurrency, (line) => handle(line).then(emit));

  let ended = false;
  let paused = false;
  const maybeResume = (): void => {
    if (paused && !ended && pool.hasRoom && drained === null) {
      paused = false;
      input.resume();
    }
  };

  const splitter = new LineSplitter();
  const take = (line: string): void => {
    // A Windows-style line end or a blank line is not a row.
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim().length === 0) return;
    stats.rows++;
    pool.offer(line);
  };

  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: string): void => {
      for (const line of splitter.push(chunk)) take(line);
      // The chunk already read is always accepted (the queue limit is soft by at
      // most one chunk); reading stops until the pool has room again.
      if (!pool.hasRoom || drained !== null) {
        paused = true;
        input.pause();
        void pool.room().then(maybeResume);
      }
    };
    const onDrain = (): void => {
      if (!ended) {
        ended = true;
        input.off('data', onData);
        input.pause();
      }
      // Also after the input ended: the driver closes it right after asking for the
      // drain, and the end may be read before the signal arrives.
      stats.dropped += pool.dropQueued();
      resolve();
    };
    input.setEncoding('utf8');
    input.on('data', onData);
    input.on('end', () => {
      if (ended) return;
      ended = true;
      const last = splitter.end();
      if (last !== null) take(last);
      resolve();
    });
    input.on('error', reject);
    if (opts.drain?.aborted) onDrain();
    else opts.drain?.addEventListener('abort', onDrain, { once: true });
  });
  await pool.idle();
  flush();
  await drained;
  return stats;
}
