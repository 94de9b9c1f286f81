import { test } from 'node:test';
import assert from 'node:assert/strict';
import { httpServer, transportConfig } from '../transport/test-support.js';
import { createTransport } from '../transport/undici-transport.js';
import { composeHandler } from './compose.js';
import { logging } from './logging.js';
import { retry } from './retry.js';
import { exchange, testRuntime } from './test-support.js';
import { transportHandler } from './transport-handler.js';

const SECRET = 's3cr3t-Value/with+chars';
const TOKEN = 'tok-abcdef123456';

test('logs one line per attempt and failures at warn, never printing a secret', async () => {
  let n = 0;
  const srv = await httpServer((_req, res) => {
    n++;
    res.setHeader('Set-Cookie', `session=${TOKEN}`);
    res.setHeader('X-Echo', SECRET);
    res.statusCode = n === 1 ? 503 : 200;
    res.end('ok');
  });
  const cfg = transportConfig();
  const transport = createTransport(cfg);
  const rt = testRuntime({ secrets: [SECRET, TOKEN] });
  try {
    const chain = composeHandler(
      [await retry({ max_attempts: 3, base_delay_ms: 1, max_delay_ms: 5 }, rt), await logging({ level: 'debug', redact: ['X-Api-Key'] }, rt)],
      transportHandler(transport, cfg),
    );
    const ex = exchange({
      url: `${srv.url}/items?key=${encodeURIComponent(SECRET)}`,
      headers: { authorization: `Bearer ${TOKEN}`, cookie: 'a=b', 'x-api-key': 'configured-name-value', 'x-other': `pre ${SECRET} post` },
    });
    await chain(ex);
    assert.equal(ex.attempts, 2);
    const text = rt.log.text();
    for (const s of [SECRET, encodeURIComponent(SECRET), TOKEN, 'configured-name-value', 'a=b']) {
      assert.ok(!text.includes(s), `log contains ${s}`);
    }
    const lines = rt.log.lines().filter((l) => l.middleware === 'logging');
    assert.equal(lines.length, 2);
    assert.equal(lines[0].level, 40); // warn: the 503
    assert.equal(lines[0].status, 503);
    assert.equal(lines[1].level, 20); // debug: the 200
    assert.equal(lines[1].attempt, 2);
    const headers = lines[1].request_headers as Record<string, string>;
    assert.equal(headers.authorization, '[REDACTED]');
    assert.equal(headers.cookie, '[REDACTED]');
    assert.equal(headers['x-api-key'], '[REDACTED]');
    assert.equal(headers['x-other'], 'pre [REDACTED] post');
    assert.equal((lines[1].response_headers as Record<string, string>)['set-cookie'], '[REDACTED]');
    assert.match(String(lines[1].url), /key=\[REDACTED\]/);
  } finally {
    await transport.close();
    await srv.close();
  }
});

test('transport errors are logged at warn with their class and a scrubbed message; a throwing middleware is logged and rethrown', async () => {
  const rt = testRuntime({ secrets: [SECRET] });
  const mw = await logging({}, rt);
  const failing = composeHandler([mw], async (ex) => {
    ex.attempts++;
    ex.error = new (await import('../transport/errors.js')).ConnectionError(`connection refused (${SECRET})`);
  });
  await failing(exchange({ url: 'http://127.0.0.1:9/' }));
  const throwing = composeHandler([mw], async () => {
    throw new Error(`boom ${SECRET}`);
  });
  await assert.rejects(throwing(exchange({ url: 'http://127.0.0.1:9/' })), /boom/);
  const lines = rt.log.lines();
  assert.equal(lines.length, 2);
  assert.equal(lines[0].level, 40);
  assert.equal(lines[0].error_class, 'connection');
  assert.equal(lines[0].error, 'connection refused ([REDACTED])');
  assert.equal(lines[1].error, 'boom [REDACTED]');
  assert.ok(!rt.log.text().includes(SECRET));
});
