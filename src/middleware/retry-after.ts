// How long a server asked us to wait, from its response headers:
//   Retry-After: 120 | Retry-After: Fri, 31 Dec 2027 23:59:59 GMT   (RFC 9110 §10.2.3)
//   RateLimit-Reset: 30                                             (draft-ietf-httpapi-ratelimit-headers -03..-06)
//   RateLimit: limit=100, remaining=0, reset=30                     (same drafts)
//   RateLimit: "default";r=0;t=30                                   (draft -07 and later)
// Headers are the lower-cased record of HttpResponse.

/** Retry-After as ms from `now`: delay-seconds (decimals tolerated) or an HTTP-date; null if absent or unparseable. */
export function parseRetryAfter(value: string | undefined, now: number): number | null {
  if (value === undefined) return null;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  if (!/[a-z]/i.test(v)) return null; // a negative or garbled number is not a date
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** The wait the server asked for, in ms from `now`, from any of the headers above; null when none. */
export function serverBackoffMs(headers: Record<string, string>, now: number): number | null {
  const retryAfter = parseRetryAfter(headers['retry-after'], now);
  if (retryAfter !== null) return retryAfter;
  const reset = headers['ratelimit-reset'] ?? headers['x-ratelimit-reset'];
  if (reset !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(reset)) {
    const n = Number(reset);
    // A value this large is an epoch timestamp (X-RateLimit-Reset often is), not a delay.
    return n > 1e9 ? Math.max(0, n * 1000 - now) : Math.round(n * 1000);
  }
  const rl = headers['ratelimit'];
  if (rl !== undefined) {
    const m = /(?:^|[;,\s])(?:reset|t)=(\d+(?:\.\d+)?)/.exec(rl);
    if (m) return Math.round(Number(m[1]) * 1000);
  }
  return null;
}
