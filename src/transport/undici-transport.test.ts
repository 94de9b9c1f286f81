import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import zlib from 'node:zlib';
import { createTransport } from './undici-transport.js';
import { failure, freePort, httpServer, listen, makeCerts, readBody, transportConfig } from './test-support.js';

test('sends method, headers and body; returns status, lower-case headers (repeats joined) and body', async () => {
  const srv = await httpServer(async (req, res) => {
    const body = await readBody(req);
    res.setHeader('Set-Cookie', ['a=1', 'b=2']);
    res.setHeader('X-Echo', `${req.method} ${req.url} ${req.headers['x-test']} ${body}`);
    res.statusCode = 201;
    res.end('{"ok":true}');
  });
  const t = createTransport(transportConfig());
  try {
    const r = await t.send({ method: 'POST', url: `${srv.url}/a/b?x=1#frag`, headers: { 'x-test': 'yes' }, body: 'hello' });
    assert.equal(r.status, 201);
    assert.equal(r.body, '{"ok":true}');
    assert.equal(r.truncated, false);
    assert.equal(r.headers['x-echo'], 'POST /a/b?x=1 yes hello');
    assert.equal(r.headers['set-cookie'], 'a=1, b=2');
    assert.ok(typeof r.ttfb_ms === 'number' && r.ttfb_ms >= 0);
  } finally {
    await t.close();
    await srv.close();
  }
});

test('header values are read as UTF-8 when their bytes are UTF-8, as latin1 otherwise', async () => {
  const srv = await httpServer((_req, res) => {
    // Node writes a header string one byte per character: these put UTF-8 bytes on the wire.
    res.setHeader('X-Utf8', Buffer.from('café ü 日本', 'utf8').toString('latin1'));
    res.setHeader('X-Latin1', 'caf\u00e9'); // one byte 0xE9: not UTF-8
    res.setHeader('X-Ascii', 'plain');
    // Valid UTF-8 that holds U+FFFD itself is still UTF-8.
    res.setHeader('X-Replacement', Buffer.from('a\ufffdb é', 'utf8').toString('latin1'));
    res.end();
  });
  const t = createTransport(transportConfig());
  try {
    const r = await t.send({ method: 'GET', url: `${srv.url}/`, headers: {}, body: null });
    assert.equal(r.headers['x-utf8'], 'café ü 日本');
    assert.equal(r.headers['x-latin1'], 'café');
    assert.equal(r.headers['x-ascii'], 'plain');
    assert.equal(r.headers['x-replacement'], 'a\ufffdb é');
  } finally {
    await t.close();
    await srv.close();
  }
});

test('keeps connections alive and never opens more than `connections` per origin', async () => {
  const srv = await httpServer((_req, res) => setTimeout(() => res.end('x'), 5));
  const t = createTransport(transportConfig({ connections: 2 }));
  try {
    for (let round = 0; round < 3; round++) {
      const rs = await Promise.all(Array.from({ length: 10 }, () => t.send({ method: 'GET', url: srv.url + '/', headers: {}, body: null })));
      assert.ok(rs.every((r) => r.status === 200));
    }
    assert.ok(srv.connections() <= 2, `opened ${srv.connections()} sockets`);
  } finally {
    await t.close();
    await srv.close();
  }
});

test('a refused port is a retryable connection error', async () => {
  const port = await freePort();
  const t = createTransport(transportConfig());
  try {
    const e = await failure(t.send({ method: 'GET', url: `http://127.0.0.1:${port}/`, headers: {}, body: null }));
    assert.equal(e.errorClass, 'connection');
    assert.equal(e.code, 'RESTLAKE_CONNECTION');
    assert.equal(e.retryable, true);
    assert.match(e.message, /refused/);
  } finally {
    await t.close();
  }
});

test('a host that does not resolve is a connection error (DNS)', async () => {
  const t = createTransport(transportConfig());
  try {
    const e = await failure(t.send({ method: 'GET', url: 'http://restlake-test.invalid/', headers: {}, body: null }));
    assert.equal(e.errorClass, 'connection');
    assert.match(e.message, /DNS/);
  } finally {
    await t.close();
  }
});

test('a socket reset by the server is a retryable connection error', async () => {
  const srv = await httpServer((req) => req.socket.destroy());
  const t = createTransport(transportConfig());
  try {
    const e = await failure(t.send({ method: 'GET', url: srv.url + '/', headers: {}, body: null }));
    assert.equal(e.errorClass, 'connection');
    assert.equal(e.retryable, true);
  } finally {
    await t.close();
    await srv.close();
  }
});

test('hung headers time out (headers timeout), as does the total per-attempt deadline', async () => {
  const srv = await httpServer(() => {});
  const t1 = createTransport(transportConfig({ headers_timeout_ms: 150 }));
  const t2 = createTransport(transportConfig({ timeout_ms: 150 }));
  try {
    const e1 = await failure(t1.send({ method: 'GET', url: srv.url + '/', headers: {}, body: null }));
    assert.equal(e1.errorClass, 'timeout');
    assert.equal(e1.code, 'RESTLAKE_TIMEOUT');
    assert.match(e1.message, /headers within 150 ms/);
    assert.equal(e1.retryable, true);
    const e2 = await failure(t2.send({ method: 'GET', url: srv.url + '/', headers: {}, body: null }));
    assert.equal(e2.errorClass, 'timeout');
    assert.match(e2.message, /timeout of 150 ms/);
  } finally {
    await t1.close();
    await t2.close();
    await srv.close();
  }
});

test('a body that stalls midway times out (body timeout)', async () => {
  const srv = await httpServer((_req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('only part');
  });
  const t = createTransport(transportConfig({ body_timeout_ms: 150 }));
  try {
    const e = await failure(t.send({ method: 'GET', url: srv.url + '/', headers: {}, body: null }));
    assert.equal(e.errorClass, 'timeout');
    assert.match(e.message, /body stalled/);
  } finally {
    await t.close();
    await srv.close();
  }
});

test('a body over max_response_bytes is cut at the cap and flagged; the transport stays usable', async () => {
  const big = 'x'.repeat(64 * 1024);
  const srv = await httpServer((req, res) => {
    if (req.url === '/big') {
      res.write(big);
      res.write(big);
      res.end(big);
    } else res.end('small');
  });
  const t = createTransport(transportConfig({ max_response_bytes: 1000 }));
  try {
    const r = await t.send({ method: 'GET', url: srv.url + '/big', headers: {}, body: null });
    assert.equal(r.status, 200);
    assert.equal(r.truncated, true);
    assert.equal(r.body.length, 1000);
    const ok = await t.send({ method: 'GET', url: srv.url + '/small', headers: {}, body: null });
    assert.equal(ok.body, 'small');
    assert.equal(ok.truncated, false);
    // Exactly at the cap is not truncated.
    const t2 = createTransport(transportConfig({ max_response_bytes: 5 }));
    const exact = await t2.send({ method: 'GET', url: srv.url + '/small', headers: {}, body: null });
    assert.equal(exact.truncated, false);
    await t2.close();
  } finally {
    await t.close();
    await srv.close();
  }
});

test('an endless body is cut at the cap: the rest is aborted, not read', async () => {
  let closed = false;
  const srv = await httpServer((req, res) => {
    const chunk = Buffer.alloc(16 * 1024, 'z');
    const pump = () => {
      while (!closed && res.write(chunk));
    };
    res.on('drain', pump);
    req.socket.on('close', () => (closed = true));
    pump();
  });
  const t = createTransport(transportConfig({ max_response_bytes: 100_000 }));
  try {
    const r = await t.send({ method: 'GET', url: srv.url + '/', headers: {}, body: null });
    assert.equal(r.truncated, true);
    assert.equal(r.body.length, 100_000);
    for (let i = 0; i < 50 && !closed; i++) await new Promise((res) => setTimeout(res, 10));
    assert.equal(closed, true, 'the server saw the connection closed');
  } finally {
    await t.close();
    await srv.close();
  }
});

test('the caller signal aborts an attempt in flight (not retryable)', async () => {
  const srv = await httpServer(() => {});
  const t = createTransport(transportConfig());
  const ac = new AbortController();
  try {
    const p = t.send({ method: 'GET', url: srv.url + '/', headers: {}, body: null }, ac.signal);
    setTimeout(() => ac.abort(), 50);
    const e = await failure(p);
    assert.equal(e.code, 'RESTLAKE_ABORTED');
    assert.equal(e.retryable, false);
    const e2 = await failure(t.send({ method: 'GET', url: srv.url + '/', headers: {}, body: null }, ac.signal));
    assert.equal(e2.code, 'RESTLAKE_ABORTED');
  } finally {
    await t.close();
    await srv.close();
  }
});

test('one abort fails exactly the attempts still in flight on that signal; others and finished ones are untouched', async () => {
  // /hang/* never answers; everything else answers at once.
  const srv = await httpServer((req, res) => {
    if (!req.url?.startsWith('/hang/')) res.end('ok');
  });
  const t = createTransport({ ...transportConfig(), connections: 32 });
  const shared = new AbortController();
  const other = new AbortController();
  try {
    // Finished and hanging attempts interleaved, so finished ones leave the list from its
    // head, middle and tail.
    const hanging: Array<Promise<unknown>> = [];
    const finished: Array<Promise<unknown>> = [];
    for (let i = 0; i < 12; i++) {
      const hang = i % 3 !== 1;
      const p = t.send({ method: 'GET', url: `${srv.url}/${hang ? 'hang' : 'done'}/${i}`, headers: {}, body: null }, shared.signal);
      (hang ? hanging : finished).push(p);
    }
    const elsewhere = t.send({ method: 'GET', url: `${srv.url}/hang/other`, headers: {}, body: null }, other.signal);
    for (const r of await Promise.all(finished)) assert.equal((r as { status: number }).status, 200);
    shared.abort();
    for (const p of hanging) assert.equal((await failure(p)).code, 'RESTLAKE_ABORTED');
    // The attempt on the other signal is still in flight until its own signal aborts.
    let settled = false;
    void elsewhere.then(() => (settled = true), () => (settled = true));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(settled, false);
    other.abort();
    assert.equal((await failure(elsewhere)).code, 'RESTLAKE_ABORTED');
  } finally {
    await t.close();
    await srv.close();
  }
});

test('a header value with a line break is refused before sending', async () => {
  let hits = 0;
  const srv = await httpServer((_req, res) => { hits++; res.end(); });
  const t = createTransport(transportConfig());
  try {
    const e = await failure(t.send({ method: 'GET', url: srv.url + '/', headers: { 'x-a': 'a\r\nx-injected: 1' }, body: null }));
    assert.equal(e.retryable, false);
    assert.equal(hits, 0);
  } finally {
    await t.close();
    await srv.close();
  }
});

// ── compressed bodies ────────────────────────────────────────────────
// A server answering in the coding the path names; bodies are sent in several writes
// so the decompressor sees more than one chunk.
const TEXT = JSON.stringify({ ok: '日本語 ünïcode', items: Array.from({ length: 3000 }, (_, i) => ({ i, v: `value-${i % 97}` })) });
const COMPRESS: Record<string, (b: Buffer) => Buffer> = {
  gzip: (b) => zlib.gzipSync(b),
  'x-gzip': (b) => zlib.gzipSync(b),
  deflate: (b) => zlib.deflateSync(b),
  br: (b) => zlib.brotliCompressSync(b),
};

function sendInPieces(res: import('node:http').ServerResponse, body: Buffer): void {
  const step = Math.ceil(body.length / 4) || 1;
  for (let at = 0; at < body.length; at += step) res.write(body.subarray(at, at + step));
  res.end();
}

test('gzip, x-gzip, deflate (zlib and raw) and br bodies are decompressed before decoding; unknown codings are kept as sent', async () => {
  const srv = await httpServer((req, res) => {
    const [coding, variant] = req.url!.slice(1).split('/');
    const plain = Buffer.from(TEXT);
    res.setHeader('content-encoding', coding);
    if (variant === 'raw') sendInPieces(res, zlib.deflateRawSync(plain));
    else if (variant === 'empty') res.end();
    else sendInPieces(res, COMPRESS[coding.toLowerCase()]?.(plain) ?? Buffer.from('kept as sent'));
  });
  const t = createTransport(transportConfig());
  try {
    const cases: [path: string, body: string][] = [
      ['/gzip', TEXT],
      ['/x-gzip', TEXT],
      ['/GZIP', TEXT],
      ['/deflate', TEXT],
      ['/deflate/raw', TEXT],
      ['/br', TEXT],
      ['/gzip/empty', ''],
      ['/identity', 'kept as sent'],
      ['/compress', 'kept as sent'],
    ];
    for (const [path, body] of cases) {
      const r = await t.send({ method: 'GET', url: srv.url + path, headers: { 'accept-encoding': 'gzip, deflate, br' }, body: null });
      assert.equal(r.status, 200, path);
      assert.equal(r.body, body, path);
      assert.equal(r.truncated, false, path);
      assert.equal(r.headers['content-encoding'], path.split('/')[1], 'headers stay as the server sent them');
    }
  } finally {
    await t.close();
    await srv.close();
  }
});

test('max_response_bytes caps the decompressed size: a bomb is cut at the cap and flagged, exactly at the cap is not', async () => {
  // 4 MB of zeros, ~4 KB gzipped and a few bytes as brotli, against a cap of 100 000 bytes.
  const zeros = Buffer.alloc(4 * 1024 * 1024, '0');
  const bombs: Record<string, Buffer> = { gzip: zlib.gzipSync(zeros), br: zlib.brotliCompressSync(zeros), deflate: zlib.deflateSync(zeros) };
  const exact = zlib.gzipSync(Buffer.alloc(100_000, 'a'));
  const srv = await httpServer((req, res) => {
    const coding = req.url!.slice(1);
    res.setHeader('content-encoding', coding === 'exact' ? 'gzip' : coding);
    sendInPieces(res, coding === 'exact' ? exact : bombs[coding]);
  });
  const t = createTransport(transportConfig({ max_response_bytes: 100_000 }));
  try {
    for (const coding of Object.keys(bombs)) {
      const r = await t.send({ method: 'GET', url: `${srv.url}/${coding}`, headers: {}, body: null });
      assert.equal(r.truncated, true, coding);
      assert.equal(r.body, '0'.repeat(100_000), coding);
    }
    const r = await t.send({ method: 'GET', url: `${srv.url}/exact`, headers: {}, body: null });
    assert.equal(r.truncated, false);
    assert.equal(r.body.length, 100_000);
  } finally {
    await t.close();
    await srv.close();
  }
});

test('an endless gzip stream is cut at the decompressed cap: the rest is aborted, not read', async () => {
  let closed = false;
  const srv = await httpServer((req, res) => {
    res.setHeader('content-encoding', 'gzip');
    const gz = zlib.createGzip();
    gz.pipe(res);
    const chunk = Buffer.alloc(64 * 1024, 'z');
    const pump = () => {
      while (!closed && gz.write(chunk));
    };
    gz.on('drain', pump);
    req.socket.on('close', () => {
      closed = true;
      gz.destroy();
    });
    pump();
  });
  const t = createTransport(transportConfig({ max_response_bytes: 1_000_000 }));
  try {
    const r = await t.send({ method: 'GET', url: srv.url + '/', headers: {}, body: null });
    assert.equal(r.truncated, true);
    assert.equal(r.body, 'z'.repeat(1_000_000));
    for (let i = 0; i < 50 && !closed; i++) await new Promise((res) => setTimeout(res, 10));
    assert.equal(closed, true, 'the server saw the connection closed');
  } finally {
    await t.close();
    await srv.close();
  }
});

test('a body that does not decompress fails the attempt (parse, not retryable); the transport stays usable', async () => {
  const srv = await httpServer((req, res) => {
    if (req.url === '/bad') {
      res.setHeader('content-encoding', 'gzip');
      res.end('this is not gzip at all');
    } else res.end('fine');
  });
  const t = createTransport(transportConfig());
  try {
    const e = await failure(t.send({ method: 'GET', url: srv.url + '/bad', headers: {}, body: null }));
    assert.deepEqual([e.code, e.errorClass, e.retryable], ['RESTLAKE_BODY_DECODE', 'parse', false]);
    assert.equal(e.message, 'response body could not be decompressed (content-encoding gzip)');
    assert.equal((await t.send({ method: 'GET', url: srv.url + '/ok', headers: {}, body: null })).body, 'fine');
  } finally {
    await t.close();
    await srv.close();
  }
});

// ── TLS ──────────────────────────────────────────────────────────────
const certs = makeCerts();
after(() => certs.cleanup());

function tlsServer(opts: { cert: string; key: string; requireClientCert?: boolean }) {
  const server = createHttpsServer(
    {
      cert: readFileSync(opts.cert),
      key: readFileSync(opts.key),
      ...(opts.requireClientCert ? { requestCert: true, rejectUnauthorized: true, ca: readFileSync(certs.caCert) } : {}),
    },
    (req, res) => res.end(`hello ${(req.socket as import('node:tls').TLSSocket).getPeerCertificate?.()?.subject?.CN ?? ''}`.trim()),
  );
  return listen(server, 'https');
}

test('TLS: a self-signed server certificate is rejected by default (class tls, not retryable)', async () => {
  const srv = await tlsServer({ cert: certs.selfCert, key: certs.selfKey });
  const t = createTransport(transportConfig());
  try {
    const e = await failure(t.send({ method: 'GET', url: srv.url + '/', headers: {}, body: null }));
    assert.equal(e.errorClass, 'tls');
    assert.equal(e.code, 'RESTLAKE_TLS');
    assert.equal(e.retryable, false);
  } finally {
    await t.close();
    await srv.close();
  }
});

test('TLS: an unknown CA is rejected, accepted with ca_file, and verify:false accepts anything', async () => {
  const srv = await tlsServer({ cert: certs.serverCert, key: certs.serverKey });
  const plain = createTransport(transportConfig());
  const withCa = createTransport(transportConfig({ tls: { verify: true, ca_file: certs.caCert, cert_file: null, key_file: null } }));
  const noVerify = createTransport(transportConfig({ tls: { verify: false, ca_file: null, cert_file: null, key_file: null } }));
  try {
    const e = await failure(plain.send({ method: 'GET', url: srv.url + '/', headers: {}, body: null }));
    assert.equal(e.errorClass, 'tls');
    const r = await withCa.send({ method: 'GET', url: srv.url + '/', headers: {}, body: null });
    assert.equal(r.status, 200);
    const r2 = await noVerify.send({ method: 'GET', url: srv.url + '/', headers: {}, body: null });
    assert.equal(r2.status, 200);
  } finally {
    await plain.close();
    await withCa.close();
    await noVerify.close();
    await srv.close();
  }
});

test('mTLS: a server that requires a client certificate rejects us without one and accepts cert_file/key_file', async () => {
  const srv = await tlsServer({ cert: certs.serverCert, key: certs.serverKey, requireClientCert: true });
  const tls = { verify: true, ca_file: certs.caCert, cert_file: null, key_file: null };
  const anon = createTransport(transportConfig({ tls }));
  const mtls = createTransport(transportConfig({ tls: { ...tls, cert_file: certs.clientCert, key_file: certs.clientKey } }));
  try {
    const e = await failure(anon.send({ method: 'GET', url: srv.url + '/', headers: {}, body: null }));
    assert.ok(e.errorClass === 'tls' || e.errorClass === 'connection', `class ${e.errorClass}: ${e.message}`);
    const r = await mtls.send({ method: 'GET', url: srv.url + '/', headers: {}, body: null });
    assert.equal(r.status, 200);
    assert.equal(r.body, 'hello restlake test client');
  } finally {
    await anon.close();
    await mtls.close();
    await srv.close();
  }
});

test('unreadable TLS files are a clear config-time error', () => {
  assert.throws(
    () => createTransport(transportConfig({ tls: { verify: true, ca_file: '/nonexistent/ca.pem', cert_file: null, key_file: null } })),
    (e: Error & { code?: string }) => e.code === 'RESTLAKE_TLS_CONFIG' && /ca_file/.test(e.message),
  );
  assert.throws(
    () => createTransport(transportConfig({ tls: { verify: true, ca_file: null, cert_file: certs.clientCert, key_file: null } })),
    /both cert_file and key_file/,
  );
});
