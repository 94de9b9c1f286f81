// One row in, one ResultRow out, whatever happens (this never throws): render the
// request, run it through the middleware chain (retry, auth, … transport), and
// describe the outcome in the sink's columns (DESIGN §3).
//
// Outcome rules, in order:
//   template / host_not_allowed   the request could not be rendered; nothing sent
//   the chain's error             transport (timeout, connection, tls), body_too_large
//                                 (response kept, truncated), parse (a compressed body
//                                 that does not decompress), circuit_open, auth, …
//   rate_limited / http_status    a response whose status is not in success_status
//                                 (429 is rate_limited)
//   parse                         a success status, `extract` configured, and a body
//                                 that is not JSON: the row fails (issue 2: non-JSON
//                                 bodies are failed rows) and the extract columns are
//                                 null. An empty body (204) is not a parse failure.
// Secrets are kept out of every column: header values by name, config secrets and the
// credentials auth sends (live-secrets.ts) scrubbed from url, headers, bodies and messages.
import { setMaxListeners } from 'node:events';
import type { PipelineConfig } from '../config/types.js';
import { RowError, type ErrorClass } from '../errors.js';
import { buildChain } from '../middleware/index.js';
import { liveSecretsOf } from '../middleware/live-secrets.js';
import { createRedactor } from '../middleware/redact.js';
import type { Exchange, MiddlewareRuntime } from '../middleware/types.js';
import type { Transport } from '../transport/types.js';
import type { ResultRow } from '../worker/types.js';
import { compileRequest } from './build.js';
import { compileExtract } from './extract.js';
import type { Row } from './types.js';

export type RowProcessor = (row: Row, requestId: string) => Promise<ResultRow>;

export interface RowProcessorOptions {
  /** Aborts requests in flight and backoff waits (the worker is stopping). */
  signal?: AbortSignal;
}

const NEVER = new AbortController().signal;

/** Epoch microseconds of the wall clock (the sink's timestamp unit); durations use the monotonic clock. */
function nowMicros(): number {
  return Date.now() * 1000;
}

export async function createRowProcessor(
  config: PipelineConfig,
  runtime: MiddlewareRuntime,
  transport: Transport,
  options: RowProcessorOptions = {},
): Promise<RowProcessor> {
  const build = compileRequest(config);
  const chain = await buildChain(config, runtime, transport);
  const extractor = compileExtract(config.response.extract);
  const redact = createRedactor([...config.secrets, ...runtime.secrets], config.sink.redact_headers, liveSecretsOf(runtime));
  const signal = options.signal ?? NEVER;
  // Every request in flight (and every backoff wait) listens on this one signal.
  setMaxListeners(0, signal);
  const runId = runtime.runId;
  const pipeline = config.name;
  const sourceColumns = config.sink.source_columns;

  // success_status as a lookup table: one array read per row.
  const success = new Uint8Array(1000);
  for (const r of config.response.success_status) for (let s = Math.max(0, r.from); s <= Math.min(999, r.to); s++) success[s] = 1;

  return async (row, requestId) => {
    const t0 = performance.now();
    const startedAt = nowMicros();
    let ex: Exchange | null = null;
    let unsent: RowError | null = null;
    try {
      const request = build(row, { run_id: runId, request_id: requestId, now: Date.now() });
      ex = { row, requestId, runId, request, response: null, error: null, attempts: 0, state: {}, signal };
      await chain(ex);
    } catch (err) {
      const e = err instanceof RowError ? err : new RowError('middleware', 'RESTLAKE_MIDDLEWARE', `middleware failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
      if (ex) ex.error = e;
      else unsent = e;
    }

    // Built once the exchange is over, not before it: with hundreds of requests in flight
    // for 50 ms each, a result object per request made from the start only survived
    // young-generation collections (a worker alone, 50k rows at 500 in flight: 84-86 →
    // 59-78 scavenges, 257-324 → 178-250 ms of them, with the one-line pool handler in
    // serve.ts).
    const out = blankResult(requestId, runId, pipeline, config.request.method, startedAt);
    for (let i = 0; i < sourceColumns.length; i++) {
      const v = row[sourceColumns[i]];
      out[sourceColumns[i]] = v === undefined ? null : v;
    }
    if (extractor) for (const c of extractor.columns) out[c] = null;
    if (unsent) fail(out, unsent.errorClass, unsent.message);

    if (ex) {
      const req = ex.request;
      out.method = req.method;
      out.url = redact.text(req.url);
      out.request_headers = redact.headersJson(req.headers);
      out.request_body = req.body === null ? null : redact.text(req.body);
      out.attempts = ex.attempts;
      const res = ex.response;
      if (res) {
        out.status_code = res.status;
        out.response_headers = redact.headersJson(res.headers);
        out.response_body = redact.text(res.body);
        out.response_truncated = res.truncated;
      }
      const tries = ex.attempts > 1 ? ` after ${ex.attempts} attempts` : '';
      if (ex.error) fail(out, ex.error.errorClass, redact.text(ex.error.message) + tries);
      else if (!res) fail(out, 'middleware', 'no response: a middleware ended the exchange without sending or setting an error');
      else if (success[res.status] !== 1) fail(out, res.status === 429 ? 'rate_limited' : 'http_status', `HTTP ${res.status}${tries}`);
      else if (extractor && !extractor.apply(res.body, out)) fail(out, 'parse', 'response body is not JSON; extract columns are null');
      else out.success = true;
    }

    out.finished_at = nowMicros();
    // Whole microseconds (12.539, not 12.538706000000005): what the clock can tell apart,
    // and a third of the digits to format, send and parse (~0.1 instead of ~0.25 µs).
    out.duration_ms = Math.round((performance.now() - t0) * 1000) / 1000;
    return out;
  };
}

function fail(out: ResultRow, errorClass: ErrorClass, message: string): void {
  out.success = false;
  out.error_class = errorClass;
  out.error_message = message;
}

/**
 * A result row before anything was sent: not successful, no request or response, no
 * time spent. The row processor fills it in; the worker's failure path (a line that is
 * not a row, a worker that died on it) uses it as is. Source and extract columns are
 * added by the caller.
 */
export function blankResult(requestId: string, runId: string, pipeline: string, method: string | null, atMicros: number): ResultRow {
  return {
    request_id: requestId,
    run_id: runId,
    pipeline,
    method,
    url: null,
    request_headers: null,
    request_body: null,
    status_code: null,
    success: false,
    attempts: 0,
    error_class: null,
    error_message: null,
    response_headers: null,
    response_body: null,
    response_truncated: false,
    started_at: atMicros,
    finished_at: atMicros,
    duration_ms: 0,
  };
}
