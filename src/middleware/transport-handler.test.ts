// The innermost handler: one attempt through the transport, and allowed_hosts held
// again for URLs a middleware rewrote.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileHostPolicy } from '../request/allowed-hosts.js';
import type { HttpRequest } from '../request/types.js';
import type { HttpResponse, Transport } from '../transport/types.js';
import { testExchange } from './testing.js';
import { transportHandler } from './transport-handler.js';

function fakeTransport(): Transport & { sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    async send(request: HttpRequest): Promise<HttpResponse> {
      sent.push(request.url);
      return { status: 200, headers: {}, body: 'ok', truncated: false, ttfb_ms: 0, duration_ms: 0 };
    },
    async close() {},
  };
}


const config = { max_response_bytes: 1000 } as Parameters<typeof transportHandler>[1];

test('transport handler: URLs outside allowed_hosts after a middleware rewrote them are refused, nothing sent', async () => {
  const transport = fakeTransport();
  const handler = transportHandler(transport, config, compileHostPolicy(['api.example.com', '*.example.org']));
  for (const [url, message] of [
    ['https://evil.example.net/x', 'a middleware sent the request to https://evil.example.net, which is not in allowed_hosts (api.example.com, *.example.org)'],
    ['ftp://api.example.com/x', 'a middleware sent the request to ftp://api.example.com, which is not in allowed_hosts (api.example.com, *.example.org)'],
    ['not a url', 'a middleware set request.url to something that is not a URL'],
  ] as const) {
    const ex = testExchange(url);
    await handler(ex);
    assert.equal(ex.error?.errorClass, 'host_not_allowed', url);
    assert.equal(ex.error?.message, message);
    assert.equal(ex.attempts, 0);
  }
  assert.deepEqual(transport.sent, []);

  // Allowed ones go through (the second to the same origin from the cache of checked origins).
  for (const url of ['https://api.example.com/a', 'https://api.example.com/b?q=1', 'http://eu.example.org:8080/c']) {
    const ex = testExchange(url);
    await handler(ex);
    assert.equal(ex.error, null, url);
    assert.equal(ex.response?.status, 200);
    assert.equal(ex.attempts, 1);
  }
  assert.deepEqual(transport.sent, ['https://api.example.com/a', 'https://api.example.com/b?q=1', 'http://eu.example.org:8080/c']);
});
