import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import zlib from 'node:zlib';
import type { MiddlewareConfig, PipelineConfig } from '../config/types.js';
import { RestlakeError } from '../errors.js';
import { testRuntime } from '../middleware/test-support.js';
import { freePort, httpServer, readBody, type Listening } from '../transport/test-support.js';
import { createTransport } from '../transport/undici-transport.js';
import { createRowProcessor } from './execute.js';
import { testConfig } from './test-support.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A server recording what it receives; `respond` decides the answer per request (0-based count). */
async function recorder(respond: (n: number, req: Seen, res: import('node:http').ServerResponse) => void = (_n, _r, res) => res.end('{}')) {
  const seen: Seen[] = [];
  const srv = await httpServer(async (req, res) => {
    const s = { method: req.method!, url: req.url!, headers: req.headers, body: await readBody(req) };
    seen.push(s);
    respond(seen.length - 1, s, res);
  });
  return Object.assign(srv, { seen });
}

async function processor(config: PipelineConfig, secrets: string[] = []) {
  const transport = createTransport(config.transport);
  const rt = testRuntime({ secrets });
  const process = await createRowProcessor(config, rt, transport);
  return { process, close: () => transport.close(), rt };
}

function cfg(srv: Listening, over: Parameters<typeof testConfig>[0] = {}): PipelineConfig {
  return testConfig({ ...over, request: { allowed_hosts: [`127.0.0.1:${srv.port}`], ...over.request } });
}

const retry = (o: Partial<Extract<MiddlewareConfig, { type: 'retry' }>> = {}): MiddlewareConfig => ({
  type: 'retry',
  max_attempts: 3,
  base_delay_ms: 5,
  max_delay_ms: 30_000,
  statuses: [429, 500, 502, 503, 504],
  on_network_error: true,
  ...o,
});

test('a successful row: request as sent, response, typed extracts, source columns, timestamps', async () => {
  const srv = await recorder((_n, _req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ score: 0.75, n: '12', ok: true, items: [{ id: 'a' }], nested: { k: [1, 2] } }));
  });
  const config = cfg(srv, {
    request: {
      method: 'POST',
      url: `${srv.url}/v1/orders/{{ order_id }}/score`,
      query: { region: '{{ region }}' },
      headers: { Accept: 'application/json' },
      body: { kind: 'json', template: { id: '{{ order_id }}', amount: '{{ amount }}' } },
      idempotency_header: 'Idempotency-Key',
    },
    auth: { type: 'basic', username: 'user', password: 'basic-password' },
    response: {
      success_status: [{ from: 200, to: 299 }],
      extract: {
        score: { path: '$.score', type: 'double' },
        n: { path: '$.n', type: 'long' },
        ok: { path: '$.ok', type: 'boolean' },
        first: { path: '$.items[0].id', type: 'string' },
        nested: { path: "$['nested']", type: 'json' },
        absent: { path: '$.nope.deeper', type: 'string' },
      },
    },
    sink: { path: '/tmp/x', mode: 'append', source_columns: ['order_id', 'region', 'not_in_row'], redact_headers: [] },
  });
  const p = await processor(config, ['basic-password']);
  try {
    const before = Date.now() * 1000;
    const r = await p.process({ order_id: 17, region: 'eu/west', amount: 9.5 }, 'rid-17');
    assert.equal(r.success, true, String(r.error_message));
    assert.equal(r.error_class, null);
    assert.equal(r.request_id, 'rid-17');
    assert.equal(r.run_id, 'run-test');
    assert.equal(r.pipeline, 'test_pipeline');
    assert.equal(r.method, 'POST');
    assert.equal(r.url, `${srv.url}/v1/orders/17/score?region=eu%2Fwest`);
    assert.equal(r.status_code, 200);
    assert.equal(r.attempts, 1);
    assert.equal(r.request_body, '{"id":17,"amount":9.5}');
    const rh = JSON.parse(r.request_headers!);
    assert.equal(rh.authorization, '[REDACTED]');
    assert.equal(rh['idempotency-key'], 'rid-17');
    assert.equal(rh['content-type'], 'application/json');
    assert.equal(JSON.parse(r.response_headers!)['content-type'], 'application/json');
    assert.equal(r.response_truncated, false);
    assert.deepEqual([r.score, r.n, r.ok, r.first, r.nested, r.absent], [0.75, 12, true, 'a', '{"k":[1,2]}', null]);
    assert.deepEqual([r.order_id, r.region, r.not_in_row], [17, 'eu/west', null]);
    assert.ok(r.started_at >= before - 1000 && r.finished_at >= r.started_at, `${r.started_at} ${r.finished_at}`);
    assert.ok(r.duration_ms > 0);
    assert.equal(r.duration_ms, Math.round(r.duration_ms * 1000) / 1000, 'whole microseconds');
    // What the server got.
    const s = srv.seen[0];
    assert.equal(s.url, '/v1/orders/17/score?region=eu%2Fwest');
    assert.equal(s.headers['idempotency-key'], 'rid-17');
    assert.equal(s.headers.authorization, 'Basic ' + Buffer.from('user:basic-password').toString('base64'));
    assert.deepEqual(JSON.parse(s.body), { id: 17, amount: 9.5 });
  } finally {
    await p.close();
    await srv.close();
  }
});

test('a missing template column: failed row (template), nothing sent, the next row still works', async () => {
  const srv = await recorder();
  const p = await processor(cfg(srv, { request: { url: `${srv.url}/x/{{ id }}` }, sink: { path: '/x', mode: 'append', source_columns: ['other'], redact_headers: [] } }));
  try {
    const r = await p.process({ other: 1 }, 'rid');
    assert.equal(r.success, false);
    assert.equal(r.error_class, 'template');
    assert.match(r.error_message!, /"id"/);
    assert.equal(r.attempts, 0);
    assert.equal(r.url, null);
    assert.equal(r.status_code, null);
    assert.equal(r.other, 1);
    assert.equal(srv.seen.length, 0);
    const ok = await p.process({ id: 2 }, 'rid2');
    assert.equal(ok.success, true);
  } finally {
    await p.close();
    await srv.close();
  }
});

test('a rendered header value HTTP cannot carry (日本語, DEL, a control) fails as template naming the header, not internal', async () => {
  const srv = await recorder();
  const p = await processor(cfg(srv, { request: { url: `${srv.url}/x`, headers: { 'X-H': '{{ v }}' } } }));
  try {
    for (const [v, where] of [['日本語', 'U+65E5 at 0'], ['a\u007f', 'U+007F at 1'], ['\u0007', 'U+0007 at 0']]) {
      const r = await p.process({ v }, 'rid');
      assert.deepEqual([r.success, r.error_class, r.attempts], [false, 'template', 0], JSON.stringify(v));
      assert.equal(r.error_message, `request.headers.X-H: the rendered value has a character HTTP headers cannot carry (${where})`);
    }
    assert.equal(srv.seen.length, 0);
    assert.equal((await p.process({ v: 'ok' }, 'rid2')).success, true);
  } finally {
    await p.close();
    await srv.close();
  }
});

test('row values cannot reach a host outside allowed_hosts; a templated host outside the list fails host_not_allowed', async () => {
  const good = await recorder();
  const evil = await recorder();
  const p = await processor(cfg(good, { request: { url: `http://127.0.0.1:{{ port }}/api/{{ v }}` } }));
  const p2 = await processor(cfg(good, { request: { url: `${good.url}/api/{{ v }}`, query: { q: '{{ v }}' } } }));
  try {
    const r = await p.process({ port: evil.port, v: 'x' }, 'rid');
    assert.equal(r.error_class, 'host_not_allowed');
    assert.equal(r.attempts, 0);
    for (const v of [`@localhost:${evil.port}`, `//localhost:${evil.port}/`, `..\\..\\@localhost:${evil.port}`, `%2F%2Flocalhost:${evil.port}`, `\u2215\u2215localhost:${evil.port}`]) {
      const r2 = await p2.process({ v }, 'rid');
      assert.equal(r2.success, true, `${v}: ${r2.error_message}`);
    }
    assert.equal(evil.seen.length, 0);
    assert.equal(good.seen.length, 5);
    assert.ok(good.seen.every((s) => s.url.startsWith('/api/')));
  } finally {
    await p.close();
    await p2.close();
    await good.close();
    await evil.close();
  }
});

test('a body over max_response_bytes: failed row body_too_large, truncated prefix kept and flagged, not retried', async () => {
  const srv = await recorder((_n, _r, res) => res.end('y'.repeat(50_000)));
  const config = cfg(srv, { request: { url: `${srv.url}/big` }, middleware: [retry()] });
  config.transport.max_response_bytes = 1000;
  const p = await processor(config);
  try {
    const r = await p.process({}, 'rid');
    assert.equal(r.success, false);
    assert.equal(r.error_class, 'body_too_large');
    assert.equal(r.status_code, 200);
    assert.equal(r.response_truncated, true);
    assert.equal(r.response_body, 'y'.repeat(1000));
    assert.equal(r.attempts, 1);
  } finally {
    await p.close();
    await srv.close();
  }
});

test('Accept-Encoding set: compressed JSON is stored and extracted as text; a bomb fails body_too_large like a plain large body', async () => {
  const json = JSON.stringify({ s: 'décompressé', pad: 'p'.repeat(5000) });
  const srv = await recorder((_n, req, res) => {
    const coding = req.url.slice(1);
    res.setHeader('content-encoding', coding === 'bomb' ? 'gzip' : coding);
    if (coding === 'bomb') res.end(zlib.gzipSync(Buffer.alloc(1024 * 1024, 'y')));
    else res.end(coding === 'br' ? zlib.brotliCompressSync(json) : zlib.gzipSync(json));
  });
  const config = cfg(srv, {
    request: { url: `${srv.url}/{{ coding }}`, headers: { 'Accept-Encoding': 'gzip, br' } },
    response: { success_status: [{ from: 200, to: 299 }], extract: { s: { path: '$.s', type: 'string' } } },
    middleware: [retry()],
  });
  config.transport.max_response_bytes = 10_000;
  const p = await processor(config);
  try {
    for (const coding of ['gzip', 'br']) {
      const r = await p.process({ coding }, 'rid');
      assert.deepEqual([r.success, r.error_class, r.s, r.response_body], [true, null, 'décompressé', json], coding);
    }
    const bomb = await p.process({ coding: 'bomb' }, 'rid');
    assert.deepEqual([bomb.success, bomb.error_class, bomb.response_truncated, bomb.attempts], [false, 'body_too_large', true, 1]);
    assert.equal(bomb.response_body, 'y'.repeat(10_000));
    assert.equal(srv.seen[0].headers['accept-encoding'], 'gzip, br');
  } finally {
    await p.close();
    await srv.close();
  }
});

test('extract configured and a non-JSON success body: failed row (parse), extracts null; empty body is fine', async () => {
  const srv = await recorder((n, _r, res) => {
    if (n === 0) res.end('<html>not json</html>');
    else {
      res.statusCode = 204;
      res.end();
    }
  });
  const p = await processor(cfg(srv, { request: { url: `${srv.url}/` }, response: { success_status: [{ from: 200, to: 299 }], extract: { s: { path: '$.s', type: 'string' } } } }));
  try {
    const r = await p.process({}, 'rid');
    assert.equal(r.success, false);
    assert.equal(r.error_class, 'parse');
    assert.equal(r.s, null);
    assert.equal(r.response_body, '<html>not json</html>');
    const empty = await p.process({}, 'rid');
    assert.equal(empty.success, true);
    assert.equal(empty.s, null);
  } finally {
    await p.close();
    await srv.close();
  }
});

test('statuses: 404 is http_status and not retried; 429 until giving up is rate_limited; 503 then 200 succeeds with attempts 2', async () => {
  const srv = await recorder((_n, req, res) => {
    const path = req.url;
    if (path === '/404') res.statusCode = 404;
    else if (path === '/429') {
      res.statusCode = 429;
      res.setHeader('retry-after', '0');
    } else if (path === '/flaky') res.statusCode = srv.seen.filter((s) => s.url === '/flaky').length === 1 ? 503 : 200;
    res.end('{}');
  });
  const p = await processor(cfg(srv, { request: { url: `${srv.url}/{{ path }}` }, middleware: [retry({ max_attempts: 2 })] }));
  try {
    const r404 = await p.process({ path: '404' }, 'a');
    assert.deepEqual([r404.success, r404.error_class, r404.status_code, r404.attempts, r404.error_message], [false, 'http_status', 404, 1, 'HTTP 404']);
    const r429 = await p.process({ path: '429' }, 'b');
    assert.deepEqual([r429.success, r429.error_class, r429.status_code, r429.attempts, r429.error_message], [false, 'rate_limited', 429, 2, 'HTTP 429 after 2 attempts']);
    const flaky = await p.process({ path: 'flaky' }, 'c');
    assert.deepEqual([flaky.success, flaky.error_class, flaky.status_code, flaky.attempts], [true, null, 200, 2]);
  } finally {
    await p.close();
    await srv.close();
  }
});

test('429 with Retry-After: 1 then 200: one success row, duration includes the wait', async () => {
  const srv = await recorder((n, _r, res) => {
    if (n === 0) {
      res.statusCode = 429;
      res.setHeader('Retry-After', '1');
    }
    res.end('{}');
  });
  const p = await processor(cfg(srv, { request: { url: `${srv.url}/` }, middleware: [retry()] }));
  try {
    const r = await p.process({}, 'rid');
    assert.equal(r.success, true);
    assert.equal(r.attempts, 2);
    assert.ok(r.duration_ms >= 1000, `duration ${r.duration_ms}`);
    assert.ok(r.finished_at - r.started_at >= 1_000_000);
  } finally {
    await p.close();
    await srv.close();
  }
});

test('auth is re-applied on every retry attempt', async () => {
  const srv = await recorder((n, _r, res) => {
    res.statusCode = n === 0 ? 502 : 200;
    res.end('{}');
  });
  const p = await processor(cfg(srv, { request: { url: `${srv.url}/`, headers: { Authorization: 'overwritten' } }, middleware: [retry()], auth: { type: 'bearer', token: 'bearer-token-1' } }), ['bearer-token-1']);
  try {
    const r = await p.process({}, 'rid');
    assert.equal(r.attempts, 2);
    assert.deepEqual(srv.seen.map((s) => s.headers.authorization), ['Bearer bearer-token-1', 'Bearer bearer-token-1']);
  } finally {
    await p.close();
    await srv.close();
  }
});

test('secrets never reach the result: url, headers, bodies and messages are scrubbed', async () => {
  const KEY = 'api-key-0123456789';
  const srv = await recorder((_n, req, res) => res.end(JSON.stringify({ echo: req.url, got: req.headers['x-key'] })));
  const config = cfg(srv, {
    request: { method: 'POST', url: `${srv.url}/x`, query: { key: KEY }, headers: { 'X-Key': KEY, 'X-Custom': 'c' }, body: { kind: 'text', template: `secret=${KEY}` } },
    sink: { path: '/x', mode: 'append', source_columns: [], redact_headers: ['X-Custom'] },
    secrets: [KEY],
  });
  const p = await processor(config);
  try {
    const r = await p.process({}, 'rid');
    assert.equal(r.success, true);
    const text = JSON.stringify(r);
    assert.ok(!text.includes(KEY), text);
    assert.equal(JSON.parse(r.request_headers!)['x-custom'], '[REDACTED]');
    assert.match(r.url!, /key=\[REDACTED\]/);
    assert.equal(srv.seen[0].headers['x-key'], KEY); // the server did get it
  } finally {
    await p.close();
    await srv.close();
  }
});

test('transport failures become failed rows; the processor never throws', async () => {
  const port = await freePort();
  const config = testConfig({ request: { url: `http://127.0.0.1:${port}/`, allowed_hosts: ['127.0.0.1'] } });
  const p = await processor(config);
  try {
    const r = await p.process({}, 'rid');
    assert.deepEqual([r.success, r.error_class, r.status_code, r.attempts], [false, 'connection', null, 1]);
    assert.match(r.error_message!, /refused/);
  } finally {
    await p.close();
  }
});

test('a user middleware that throws fails its row with class middleware', async () => {
  const srv = await recorder();
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'restlake-exec-'));
  writeFileSync(join(dir, 'bad.mjs'), `export const bad = () => async (ex, next) => { if (ex.row.boom) throw new TypeError('kaput'); await next(); };`);
  const p = await processor(cfg(srv, { request: { url: `${srv.url}/` }, middleware: [{ type: 'module', path: join(dir, 'bad.mjs'), export: 'bad', options: {} }] }));
  try {
    const r = await p.process({ boom: true }, 'rid');
    assert.deepEqual([r.success, r.error_class, r.attempts], [false, 'middleware', 0]);
    assert.match(r.error_message!, /kaput/);
    assert.equal(r.url, `${srv.url}/`);
    const ok = await p.process({ boom: false }, 'rid');
    assert.equal(ok.success, true);
  } finally {
    await p.close();
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a middleware that rewrites the URL cannot leave allowed_hosts either', async () => {
  const good = await recorder();
  const evil = await recorder();
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'restlake-exec-'));
  writeFileSync(join(dir, 'redirect.mjs'), `export const redirect = (o) => async (ex, next) => { ex.request.url = o.to + '/stolen'; await next(); };`);
  const p = await processor(cfg(good, { request: { url: `${good.url}/` }, middleware: [{ type: 'module', path: join(dir, 'redirect.mjs'), export: 'redirect', options: { to: evil.url } }] }));
  const p2 = await processor(cfg(good, { request: { url: `${good.url}/` }, middleware: [{ type: 'module', path: join(dir, 'redirect.mjs'), export: 'redirect', options: { to: good.url } }] }));
  try {
    const r = await p.process({}, 'rid');
    assert.deepEqual([r.success, r.error_class, r.attempts], [false, 'host_not_allowed', 0]);
    assert.equal(evil.seen.length, 0);
    const ok = await p2.process({}, 'rid');
    assert.equal(ok.success, true);
    assert.equal(good.seen[0].url, '/stolen');
  } finally {
    await p.close();
    await p2.close();
    await good.close();
    await evil.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a middleware module that cannot load fails building the processor (config time), before any request', async () => {
  const srv = await recorder();
  const config = cfg(srv, { request: { url: `${srv.url}/` }, middleware: [{ type: 'module', path: '/nonexistent/mw.ts', export: 'x', options: {} }] });
  const transport = createTransport(config.transport);
  try {
    await assert.rejects(createRowProcessor(config, testRuntime(), transport), (e: unknown) => e instanceof RestlakeError && e.code === 'RESTLAKE_MIDDLEWARE_MODULE');
    assert.equal(srv.seen.length, 0);
  } finally {
    await transport.close();
    await srv.close();
  }
});
