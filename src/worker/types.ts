// What flows out of a worker: one ResultRow per input row, whatever happened.
// Serialised as one JSON line each on the worker's stdout (both engines).
// Timestamps are epoch microseconds (numbers); the sink types them.

export interface ResultRow {
  request_id: string;
  run_id: string;
  pipeline: string;
  method: string | null;
  url: string | null;
  request_headers: string | null;      // JSON, secrets redacted
  request_body: string | null;
  status_code: number | null;
  success: boolean;
  attempts: number;
  error_class: string | null;
  error_message: string | null;
  response_headers: string | null;     // JSON
  response_body: string | null;
  response_truncated: boolean;
  started_at: number;                  // epoch micros
  finished_at: number;                 // epoch micros
  duration_ms: number;
  /** source_columns copied from the row, then extract columns, by name. */
  [column: string]: unknown;
}

/**
 * Everything a worker needs, serialised by the driver (a file for Spark's --files,
 * stdin's first line or a path for local workers). Holds no client secret or password:
 * OAuth2 tokens come from the driver's token service.
 */
export interface WorkerJob {
  version: 1;
  run_id: string;
  config: import('../config/types.js').PipelineConfig;  // with oauth2 secrets removed
  driver: { url: string; secret: string } | null;        // driver services; null = none
}

/**
 * The exit code of a worker that could not start (its middleware module failed to load
 * or to build, ...): every worker would fail the same way, so the driver stops the run
 * with the worker's one-line reason instead of restarting workers and failing rows.
 */
export const WORKER_EXIT_START_FAILED = 3;

/** What such a worker writes to stderr before its one-line reason. */
export const WORKER_START_FAILED_PREFIX = 'restlake worker: cannot start: ';

/**
 * The longest a draining worker (the run is stopping) lets its requests in flight run on
 * before it aborts them: the transport timeout, at most this. The driver kills a worker
 * still there some seconds after that.
 */
export function drainGraceMs(transportTimeoutMs: number): number {
  return Math.min(transportTimeoutMs, 30_000);
}
