import type { HttpRequest } from '../request/types.js';

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;      // lower-case keys; repeated headers joined with ", "
  body: string;                         // decoded as UTF-8, at most max_response_bytes
  truncated: boolean;
  /** Time from sending to the response headers (TTFB) of this attempt, ms; set by the undici transport. */
  ttfb_ms?: number;
  /** Time from sending to the last body byte of this attempt, ms; set by the undici transport. */
  duration_ms?: number;
  /**
   * The attempt went out twice: its reused keep-alive socket closed before any byte of a
   * response, and it was sent again on a new connection (the server may have seen both).
   */
  resent?: boolean;
}

/**
 * Sends one attempt. Throws RowError (timeout, connection, tls) on failure. A body over
 * max_response_bytes resolves with `truncated: true` (the first max_response_bytes kept);
 * the middleware chain records that as error_class body_too_large.
 */
export type Transport = {
  send(request: HttpRequest, signal?: AbortSignal): Promise<HttpResponse>;
  close(): Promise<void>;
};
