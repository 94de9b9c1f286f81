// The wire format between workers (src/worker/driver-client.ts) and the driver's
// services (src/services/server.ts). JSON over HTTP/1.1, every call carrying
// `authorization: Bearer <run secret>`. Times travel as durations (ms from now), never
// as epoch times, so a Spark executor with a skewed clock still waits correctly.
//
//   GET  /v1/health                         → { ok: true, run_id }
//   GET  /v1/token?auth=<id>                → TokenReply
//   POST /v1/token/refresh  { auth, stale } → TokenReply   (stale = tokenFingerprint of the refused token)
//   POST /v1/permits        { key, want }   → PermitReply  (long-polls up to LEASE_WAIT_MS; granted may be 0)
//   POST /v1/backoff        { origin, pause_ms } → PauseReply
//   GET  /v1/pauses                         → PauseReply
//   POST /v1/progress       { worker, counts } → PauseReply (counts are deltas since the last report)
//
// Errors: 401 wrong secret; 400 bad request; 404 unknown auth id or rate key;
// 503 { error: 'auth', message } when no token can be had (the row fails with error_class auth).

export interface TokenReply {
  token: string;
  expires_in_ms: number;
  /** How long the worker may keep using it without asking again. */
  cache_ms: number;
}

export interface PauseReply {
  /** origin → ms until sending may resume. */
  pauses: Record<string, number>;
}

export interface PermitReply extends PauseReply {
  granted: number;
  /** Leased permits not used within this long must be dropped (keeps the run-wide rate honest). */
  ttl_ms: number;
}

export interface ErrorReply {
  error: string;
  message: string;
}

/** Longest a permit lease waits in the driver before answering `granted: 0`. */
export const LEASE_WAIT_MS = 2_000;
/** How long leased permits stay valid in a worker. */
export const PERMIT_TTL_MS = 1_000;
