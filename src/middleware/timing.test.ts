import { test } from 'node:test';
import assert from 'node:assert/strict';
import { httpServer, transportConfig } from '../transport/test-support.js';
import { createTransport } from '../transport/undici-transport.js';
import { composeHandler } from './compose.js';
import { retry } from './retry.js';
import { exchange, testRuntime } from './test-support.js';
import { timing, type TimingState } from './timing.js';
import { transportHandler } from './transport-handler.js';

test('inside retry: one duration per attempt, total spans them, TTFB from the transport', async () => {
  let n = 0;
  const srv = await httpServer((_req, res) => {
    res.statusCode = ++n < 3 ? 503 : 200;
    setTimeout(() => res.end('x'), 20);
  });
  const cfg = transportConfig();
  const transport = createTransport(cfg);
  const rt = testRuntime();
  try {
    const chain = composeHandler([await retry({ max_attempts: 3, base_delay_ms: 30, max_delay_ms: 30 }, rt), await timing({}, rt)], transportHandler(transport, cfg));
    const ex = exchange({ url: srv.url + '/' });
    await chain(ex);
    const t = ex.state.timing as TimingState;
    assert.equal(ex.attempts, 3);
    assert.equal(t.attempts_ms.length, 3);
    assert.ok(t.attempts_ms.every((d) => d >= 15), String(t.attempts_ms));
    const sum = t.attempts_ms.reduce((a, b) => a + b, 0);
    assert.ok(t.total_ms >= sum, `total ${t.total_ms} < sum ${sum}`);
    assert.ok(t.ttfb_ms !== null && t.ttfb_ms >= 0 && t.transport_ms !== null && t.transport_ms >= t.ttfb_ms);
  } finally {
    await transport.close();
    await srv.close();
  }
});
