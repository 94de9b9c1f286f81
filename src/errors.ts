// Errors carry a stable `code` (for programs) and, where they end a row, the
// `errorClass` that lands in the sink's error_class column.

export type ErrorClass =
  | 'http_status'
  | 'timeout'
  | 'connection'
  | 'tls'
  | 'template'
  | 'host_not_allowed'
  | 'rate_limited'
  | 'auth'
  | 'body_too_large'
  | 'circuit_open'
  | 'middleware'
  | 'parse'        // success status, `extract` configured, body not JSON; or a body that does not decompress
  | 'internal';

export class RestlakeError extends Error {
  readonly code: string;
  /**
   * The message's lines after the first were written for the user (a list of bad source
   * lines), so the CLI prints them all; by default it prints only the first line, as
   * further lines are usually a library's own text (DuckDB's hints, stacks).
   */
  readonly multiline: boolean;
  constructor(code: string, message: string, options?: { cause?: unknown; multiline?: boolean }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
    this.multiline = options?.multiline ?? false;
  }
}

// Marks RowErrors of every copy of restlake in a process (Symbol.for is process-wide).
const ROW_ERROR = Symbol.for('restlake.RowError');

/** An error that ends one row (the run goes on); its class lands in the sink. */
export class RowError extends RestlakeError {
  readonly errorClass: ErrorClass;
  /** Whether retry middleware may try the request again. */
  readonly retryable: boolean;
  /** The transport sent the attempt twice (see HttpResponse.resent) before it failed. */
  resent = false;
  constructor(errorClass: ErrorClass, code: string, message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(code, message, options);
    this.errorClass = errorClass;
    this.retryable = options?.retryable ?? false;
  }

  /**
   * `x instanceof RowError` holds for a RowError of any copy of restlake: user
   * middleware imports its own (Spark executors get it bundled with the module, a
   * project may install another version), and the worker must still see the row's
   * class instead of calling it a `middleware` failure. Subclasses keep the usual test.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== RowError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as { [ROW_ERROR]?: unknown })[ROW_ERROR] === true;
  }
}
Object.defineProperty(RowError.prototype, ROW_ERROR, { value: true });

/** A bad config: exit 2, nothing sent. */
export interface ConfigIssue { path: string; message: string; line?: number; file?: string }
export class ConfigError extends RestlakeError {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super('RESTLAKE_CONFIG', ConfigError.format(issues));
    this.issues = issues;
  }
  static format(issues: ConfigIssue[]): string {
    return issues
      .map((i) => `${i.file ? i.file + ':' : ''}${i.line ? i.line + ': ' : ''}${i.path || '(root)'}: ${i.message}`)
      .join('\n');
  }
}

/** The run cannot proceed (source, sink, auth): exit 3. */
export class RunError extends RestlakeError {}

/** Said after DuckDB's "Out of Memory Error": what to set (DuckDB's own hint, SET memory_limit, cannot be followed). */
function duckDbMemoryHint(): string {
  const now = process.env.RESTLAKE_DUCKDB_MEMORY;
  return ` (the driver's DuckDB memory limit is RESTLAKE_DUCKDB_MEMORY, ${now ? `now ${now}` : 'default 128MB'}: set it higher, e.g. RESTLAKE_DUCKDB_MEMORY=1GB)`;
}

/**
 * An error's first line, for a one-line message. DuckDB's CSV errors say only where on
 * their first line ("CSV Error on Line: 3") and why further down ("Invalid unicode
 * ... This file is not utf-8 encoded."): that reason is added.
 */
export function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const lines = msg.split('\n');
  const first = lines[0] ?? msg;
  if (/^Out of Memory Error:/.test(first)) return `${first}${duckDbMemoryHint()}`;
  if (!/CSV Error on Line/.test(first)) return first;
  const reason = lines.slice(1).find((l) => l.trim() !== '' && !/^(Original Line|Possible Solution|LINE \d)|^\s/.test(l));
  return reason ? `${first}: ${reason}` : first;
}
