// The one middleware interface. Built-ins (retry, timing, logging, headers, auth,
// rate_limit, …) and user modules are written against exactly this.
//
//   export function sign(options, runtime): Middleware {
//     return async (ex, next) => { ex.request.headers['x-sig'] = hmac(ex.request); await next(); };
//   }
//
// Onion order: the first configured middleware is outermost. `next()` runs the rest
// of the chain and then the transport; it may be called more than once (retry does,
// and puts back the request it was given before each attempt: see compose.ts).
import type { HttpRequest, Row } from '../request/types.js';
import type { HttpResponse } from '../transport/types.js';
import type { RowError } from '../errors.js';
import type { Logger } from 'pino';

export interface Exchange {
  readonly row: Row;
  readonly requestId: string;
  readonly runId: string;
  /** The request of the current attempt; middleware may mutate it before calling next(). */
  request: HttpRequest;
  /** Set by the transport after each attempt. */
  response: HttpResponse | null;
  /** Set when an attempt failed without a response (or by middleware that rejects it). */
  error: RowError | null;
  /** Attempts sent to the transport so far. */
  attempts: number;
  /** Free-form per-request state for middleware (e.g. timing marks). */
  readonly state: Record<string, unknown>;
  /**
   * The worker's stop signal (one for all its requests): aborts when it must stop at
   * once. Not per attempt: the transport's timeout ends an attempt without firing it.
   */
  readonly signal: AbortSignal;
}

export type Next = () => Promise<void>;
export type Middleware = (ex: Exchange, next: Next) => Promise<void>;

/** What a middleware factory may use; built once per worker. */
export interface MiddlewareRuntime {
  logger: Logger;
  runId: string;
  pipeline: string;
  /** Compile a template against row columns and $run_id/$request_id/$now. */
  compileTemplate(source: string): (ex: Exchange) => string;
  /** Driver services (tokens, rate limit, backoff); null when running without a driver. */
  driver: DriverServices | null;
  /** Secret strings to keep out of logs and errors. */
  secrets: readonly string[];
}

export type MiddlewareFactory<O = Record<string, unknown>> = (
  options: O,
  runtime: MiddlewareRuntime,
) => Middleware | Promise<Middleware>;

/**
 * What a worker may ask of its driver (DESIGN §5). Implemented over HTTP by
 * src/worker/driver-client.ts against src/services/; in-process in tests.
 */
export interface DriverServices {
  /** The current token for an auth config (cached by the client until near expiry). */
  token(authId: string): Promise<string>;
  /**
   * The token `token()` would give at once, when the worker holds one still safe to send
   * (no call, no promise); null when `token()` would have to ask. Optional: without it,
   * a token once fetched is sent however long its request waited for a rate-limit permit.
   */
  cachedToken?(authId: string): string | null;
  /** Ask for a fresh token only if the current one is still `stale` (one refresh per burst of 401s). */
  refreshToken(authId: string, stale: string): Promise<string>;
  /** Take up to `want` permits from the run-wide bucket `key`; resolves when at least one is granted. */
  acquirePermits(key: string, want: number, signal?: AbortSignal): Promise<number>;
  /** A 429/Retry-After seen by this worker: pause every worker for `origin` until `untilMs` (epoch ms). */
  reportBackoff(origin: string, untilMs: number): void;
  /** The run-wide pause for `origin`, epoch ms (0 when none). */
  pausedUntil(origin: string): number;
}
