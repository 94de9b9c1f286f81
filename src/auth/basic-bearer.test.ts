import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthConfig } from '../config/types.js';
import { composeHandler } from '../middleware/compose.js';
import { exchange, testRuntime } from '../middleware/test-support.js';
import { transportHandler } from '../middleware/transport-handler.js';
import { createRowProcessor } from '../request/execute.js';
import { testConfig } from '../request/test-support.js';
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

// An API that echoes the request: the Authorization header in the body (raw and base64)
// and in a response header. The credential must reach neither the sink nor the logs,
// also where the config's secrets do not cover it: the password's base64 is inside the
// credential's only when "user:" is a multiple of 3 bytes ("ädmin:" is 7), and a bearer
// token need not be among the config's secrets at all.
test('the credential basic and bearer send is redacted from echoed bodies, headers and logs', async () => {
  const srv = await httpServer((req, res) => {
    const got = req.headers.authorization ?? '';
    res.setHeader('x-echo', got);
    res.end(JSON.stringify({ got, again: Buffer.from(got).toString('base64'), part: got.split(' ')[1] }));
  });
  const credential = Buffer.from('ädmin:p:ss wörd', 'utf8').toString('base64');
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const cases: { auth: AuthConfig; secrets: string[]; forms: string[] }[] = [
    { auth: { type: 'basic', username: 'ädmin', password: 'p:ss wörd' }, secrets: ['p:ss wörd'], forms: [credential, b64(credential), b64(`Basic ${credential}`)] },
    { auth: { type: 'bearer', token: 'tok.en-123' }, secrets: [], forms: ['tok.en-123', b64('tok.en-123')] },
  ];
  try {
    for (const c of cases) {
      const config = testConfig({
        request: { url: `${srv.url}/echo`, allowed_hosts: [`127.0.0.1:${srv.port}`] },
        auth: c.auth,
        middleware: [{ type: 'logging', level: 'debug', redact: [] }],
        secrets: c.secrets,
      });
      const transport = createTransport(config.transport);
      const rt = testRuntime({ secrets: c.secrets });
      try {
        const row = await (await createRowProcessor(config, rt, transport))({}, 'rid');
        assert.equal(row.success, true, row.error_message ?? '');
        assert.match(row.response_body!, /REDACTED/);
        const text = JSON.stringify(row) + rt.log.text();
        for (const form of c.forms) assert.ok(!text.includes(form), `${c.auth.type}: ${form} leaked in ${text}`);
      } finally {
        await transport.close();
      }
    }
  } finally {
    await srv.close();
  }
});
