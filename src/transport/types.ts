import type { HttpRequest } from '../request/types.js';

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;      // lower-case keys; repeated headers joined with ", "
  body: string;                         // decoded as UTF-8, at most max_response_bytes
  truncated: boolean;
}

/** Sends one attempt. Throws RowError (timeout, connection, tls, body_too_large) on failure. */
export type Transport = {
  send(request: HttpRequest, signal?: AbortSignal): Promise<HttpResponse>;
  close(): Promise<void>;
};
