import { test } from 'node:test';
import assert from 'node:assert/strict';
import { composeHandler } from '../middleware/compose.js';
import { exchange, testRuntime } from '../middleware/test-support.js';
import { transportHandler } from '../middleware/transport-handler.js';
import { httpServer, transportConfig } from '../transport/test-support.js';
import { createTransport } from '../transport/undici-transport.js';
import { basicAuth } from './basic.js';
import { bearerAuth } from './bearer.js';

test('basic and bearer set the Authorization header the server expects', async () => {
  const srv = await httpServer((req, res) => res.end(req.headers.authorization ?? ''));
  const cfg = transportConfig();
  const transport = createTransport(cfg);
  try {
    const basic = composeHandler([await basicAuth({ type: 'basic', username: 'ädmin', password: 'p:ss wörd' }, testRuntime())], transportHandler(transport, cfg));
    const ex1 = exchange({ url: srv.url + '/' });
    await basic(ex1);
    const [scheme, b64] = ex1.response!.body.split(' ');
    assert.equal(scheme, 'Basic');
    assert.equal(Buffer.from(b64, 'base64').toString('utf8'), 'ädmin:p:ss wörd');
    const bearer = composeHandler([await bearerAuth({ type: 'bearer', token: 'tok.en-123' }, testRuntime())], transportHandler(transport, cfg));
    const ex2 = exchange({ url: srv.url + '/', headers: { authorization: 'stale' } });
    await bearer(ex2);
    assert.equal(ex2.response!.body, 'Bearer tok.en-123');
  } finally {
    await transport.close();
    await srv.close();
  }
});
