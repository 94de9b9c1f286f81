// One local worker child process: rows go in on stdin, result lines come back on
// stdout. It remembers which rows it holds (sent, not yet answered) so that, if it
// dies, the dispatcher can hand exactly those to another worker.
import { spawn, type ChildProcess } from 'node:child_process';
import { BufferLineSplitter, LineSplitter, utf8Lines } from '../worker/lines.js';
import { WORKER_NODE_FLAGS } from '../worker/node-flags.js';
import { parseResultHead, type ResultHead } from '../worker/result.js';

// Enough bytes for the bookkeeping keys at the start of every result line.
const HEAD_BYTES = 320;

export interface WorkerProcessOptions {
  id: number;
  script: string;
  jobPath: string;
  /** Variables set for the worker, on top of this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Variables of this process's environment the worker must not inherit (job.ts workerEnv). */
  unsetEnv?: readonly string[];
  onResult(worker: WorkerProcess, line: Buffer, head: ResultHead): void;
  onExit(worker: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void;
  onLog?(worker: WorkerProcess, line: string): void;
  /** Applied to every stderr line as it arrives, before it is kept or logged. */
  redact?: (line: string) => string;
}

export class WorkerProcess {
  readonly id: number;
  /** request_id → the row line, for every row sent and not yet answered. */
  readonly holding = new Map<string, string>();
  private readonly child: ChildProcess;
  private outBuf: string[] = [];
  private flushScheduled = false;
  private exited = false;
  private ended = false;
  /** Holding one re-sent row alone (see Dispatcher): takes no other rows until it answers. */
  isolating = false;
  /** Filled up: takes no rows until enough are answered (see Dispatcher). */
  full = false;
  /** Last stderr lines, to explain a crash. */
  readonly recentLog: string[] = [];

  constructor(private readonly opts: WorkerProcessOptions) {
    this.id = opts.id;
    // RESTLAKE_WORKER_NODE_ARGS passes node flags to workers (profiling: --cpu-prof),
    // which NODE_OPTIONS cannot all carry; coming last, they win over WORKER_NODE_FLAGS.
    const nodeArgs = (process.env.RESTLAKE_WORKER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
    const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env, RESTLAKE_WORKER_MANAGED: '1' };
    for (const name of opts.unsetEnv ?? []) delete env[name];
    this.child = spawn(process.execPath, [...WORKER_NODE_FLAGS, ...nodeArgs, opts.script, opts.jobPath], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env,
      // Own process group: a Ctrl-C on the terminal reaches only the driver, which
      // then lets workers finish their in-flight rows instead of dying with them.
      detached: true,
    });
    // Result lines stay bytes: only their ASCII head is decoded, and the line goes to
    // the spool as is (no UTF-8 decode and re-encode of every response body).
    const out = new BufferLineSplitter();
    this.child.stdout!.on('data', (chunk: Buffer) => {
      for (const line of out.push(chunk)) this.result(line);
    });
    const err = new LineSplitter();
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => {
      for (const raw of err.push(chunk)) {
        if (raw.length === 0) continue;
        const line = opts.redact ? opts.redact(raw) : raw;
        this.recentLog.push(line);
        if (this.recentLog.length > 20) this.recentLog.shift();
        opts.onLog?.(this, line);
      }
    });
    // A dead worker's stdin raises EPIPE; the exit handler deals with its rows.
    this.child.stdin!.on('error', () => {});
    this.child.on('error', (e) => {
      this.recentLog.push(String(e));
      this.finish(null, null);
    });
    this.child.on('close', (code, signal) => this.finish(code, signal));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** Alive and not yet told that input has ended. */
  get accepting(): boolean {
    return !this.exited && !this.ended;
  }

  get load(): number {
    return this.holding.size;
  }

  /** Queues one row; writes are batched into one stdin write per macrotask. */
  send(requestId: string, line: string): void {
    this.holding.set(requestId, line);
    this.outBuf.push(line);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.outBuf.length === 0 || this.exited) return;
    const rows = this.outBuf;
    this.outBuf = [];
    this.child.stdin!.write(utf8Lines(rows));
    if (this.ended) this.child.stdin!.end();
  }

  /** No more rows: the worker finishes what it holds and exits. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.flushScheduled) this.child.stdin!.end();
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.exited) this.child.kill(signal);
  }

  private result(line: Buffer): void {
    if (line.length === 0) return;
    const head = parseResultHead(line.toString('latin1', 0, Math.min(line.length, HEAD_BYTES))) ?? parseResultHead(line.toString('utf8'));
    // Only a result for a row this worker holds counts: exactly one result per row.
    if (!head || !this.holding.delete(head.requestId)) {
      this.opts.onLog?.(this, `ignored an unexpected result line: ${line.subarray(0, 120).toString('utf8')}`);
      return;
    }
    this.opts.onResult(this, line, head);
  }

  private finish(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exited) return;
    this.exited = true;
    this.opts.onExit(this, code, signal);
  }
}
