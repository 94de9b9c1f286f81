// The innermost handler of every chain: one attempt through the transport. It counts
// the attempt and leaves the outcome on the exchange (never throws): a response, or
// the classified error. A body cut at max_response_bytes keeps its response and also
// sets error body_too_large, so the row fails but the sink still gets the prefix.
import { RowError } from '../errors.js';
import { classifyTransportError } from '../transport/classify.js';
import { BodyTooLargeError } from '../transport/errors.js';
import type { Transport } from '../transport/types.js';
import type { TransportConfig } from '../config/types.js';
import type { Handler } from './compose.js';

export function transportHandler(transport: Transport, config: TransportConfig): Handler {
  const limit = config.max_response_bytes;
  return async (ex) => {
    ex.attempts++;
    ex.response = null;
    ex.error = null;
    try {
      const res = await transport.send(ex.request, ex.signal);
      ex.response = res;
      if (res.truncated) ex.error = new BodyTooLargeError(limit);
    } catch (err) {
      ex.error = err instanceof RowError ? err : classifyTransportError(err, config);
    }
  };
}
