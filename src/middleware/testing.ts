// Test helpers for middleware (not used at runtime).
import type { Exchange } from './types.js';

/** A fresh exchange for one GET of `url`, nothing sent yet, as the row processor makes it. */
export function testExchange(url: string, signal: AbortSignal = new AbortController().signal): Exchange {
  return {
    row: {},
    requestId: 'id',
    runId: 'r',
    request: { method: 'GET', url, headers: {}, body: null },
    response: null,
    error: null,
    attempts: 0,
    state: {},
    signal,
  };
}
