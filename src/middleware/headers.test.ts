import { test } from 'node:test';
import assert from 'node:assert/strict';
import { httpServer, transportConfig } from '../transport/test-support.js';
import { createTransport } from '../transport/undici-transport.js';
import { RowError } from '../errors.js';
import { composeHandler } from './compose.js';
import { headers } from './headers.js';
import { exchange, testRuntime } from './test-support.js';
import { transportHandler } from './transport-handler.js';

test('sets headers from templates and removes others; the server sees exactly that', async () => {
  let seen: Record<string, string | string[] | undefined> = {};
  const srv = await httpServer((req, res) => {
    seen = req.headers;
    res.end();
  });
  const cfg = transportConfig();
  const transport = createTransport(cfg);
  const rt = testRuntime();
  try {
    const mw = await headers({ set: { 'X-Run': '{{ $run_id }}', 'X-Tenant': 'tenant-{{ tenant | upper }}' }, remove: ['X-Drop'] }, rt);
    await composeHandler([mw], transportHandler(transport, cfg))(exchange({ url: srv.url + '/', headers: { 'x-drop': '1', 'x-keep': '2' } }, { tenant: 'acme' }));
    assert.equal(seen['x-run'], 'run-test');
    assert.equal(seen['x-tenant'], 'tenant-ACME');
    assert.equal(seen['x-keep'], '2');
    assert.equal(seen['x-drop'], undefined);
  } finally {
    await transport.close();
    await srv.close();
  }
});

test('a missing column or a line break in a rendered value fails the row as template', async () => {
  const rt = testRuntime();
  const mw = await headers({ set: { 'X-A': '{{ v }}' } }, rt);
  const inner = async () => {};
  await assert.rejects(composeHandler([mw], inner)(exchange({ url: 'http://x/' }, {})), (e: unknown) => e instanceof RowError && e.errorClass === 'template' && /"v"/.test(e.message));
  await assert.rejects(composeHandler([mw], inner)(exchange({ url: 'http://x/' }, { v: 'a\nb' })), (e: unknown) => e instanceof RowError && e.errorClass === 'template');
});

test('a rendered value HTTP headers cannot carry fails the row as template, naming the header; nothing is sent', async () => {
  let hits = 0;
  const srv = await httpServer((_req, res) => {
    hits++;
    res.end();
  });
  const cfg = transportConfig();
  const transport = createTransport(cfg);
  try {
    const mw = await headers({ set: { 'X-H': '{{ v }}' } }, testRuntime());
    const send = composeHandler([mw], transportHandler(transport, cfg));
    for (const [v, where] of [['日本語', 'U+65E5 at 0'], ['a\u007f', 'U+007F at 1'], ['a\u001bb', 'U+001B at 1']]) {
      await assert.rejects(
        send(exchange({ url: srv.url + '/' }, { v })),
        (e: unknown) =>
          e instanceof RowError && e.errorClass === 'template' && e.message === `middleware headers.set.X-H: the rendered value has a character HTTP headers cannot carry (${where})`,
      );
    }
    assert.equal(hits, 0);
    await send(exchange({ url: srv.url + '/' }, { v: 'café' }));
    assert.equal(hits, 1, 'Latin-1 (obs-text) is a valid field value');
  } finally {
    await transport.close();
    await srv.close();
  }
});
