// The innermost handler of every chain: one attempt through the transport. It counts
// the attempt and leaves the outcome on the exchange (never throws): a response, or
// the classified error. A body cut at max_response_bytes keeps its response and also
// sets error body_too_large, so the row fails but the sink still gets the prefix.
//
// It also re-checks allowed_hosts: templates cannot leave the allowed hosts (build.ts),
// and neither can a middleware that rewrites ex.request.url. Each new origin is parsed
// and checked once; after that it is a Set lookup per attempt.
import type { TransportConfig } from '../config/types.js';
import { RowError } from '../errors.js';
import { HostNotAllowedError, refusalOf, type HostPolicy } from '../request/allowed-hosts.js';
import { classifyTransportError } from '../transport/classify.js';
import { BodyTooLargeError } from '../transport/errors.js';
import { originOf } from '../transport/origin.js';
import type { Transport } from '../transport/types.js';
import type { Handler } from './compose.js';

export function transportHandler(transport: Transport, config: TransportConfig, hosts: HostPolicy | null = null): Handler {
  const limit = config.max_response_bytes;
  const allowedOrigins = new Set<string>();

  const refused = (url: string): HostNotAllowedError | null => {
    if (!hosts) return null;
    const origin = originOf(url);
    if (allowedOrigins.has(origin)) return null;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return new HostNotAllowedError('a middleware set request.url to something that is not a URL');
    }
    if (refusalOf(parsed, hosts) !== null) {
      return new HostNotAllowedError(`a middleware sent the request to ${parsed.protocol}//${parsed.host}, which is not in allowed_hosts (${hosts.described})`);
    }
    if (allowedOrigins.size < 10_000) allowedOrigins.add(origin);
    return null;
  };

  return async (ex) => {
    ex.response = null;
    ex.error = refused(ex.request.url);
    if (ex.error) return;
    ex.attempts++;
    try {
      const res = await transport.send(ex.request, ex.signal);
      ex.response = res;
      if (res.truncated) ex.error = new BodyTooLargeError(limit);
      // attempts counts what the API may have received: a stale-socket resend too.
      if (res.resent) ex.attempts++;
    } catch (err) {
      ex.error = err instanceof RowError ? err : classifyTransportError(err, config);
      if (ex.error.resent) ex.attempts++;
    }
  };
}
