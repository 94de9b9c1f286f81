// The transport against servers that misbehave below HTTP's surface, written on node:net
// so every byte is the test's: tiny chunks, compressed bodies cut off, keep-alive
// sockets closed as a request goes out, responses llhttp refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import zlib from 'node:zlib';
import { createTransport } from './undici-transport.js';
import { failure, transportConfig } from './test-support.js';

interface Raw {
  url: string;
  /** Connections accepted so far. */
  connections(): number;
  /** Requests seen: "<connection number>:<method> <path>". */
  seen: string[];
  close(): Promise<void>;
}

/**
 * A server that calls `answer` for each request head it reads (bodies are not expected
 * beyond what arrives with the head); `n` is the request's number on its connection.
 */
async function rawServer(answer: (s: Socket, method: string, path: string, n: number) => void): Promise<Raw> {
  const sockets = new Set<Socket>();
  const seen: string[] = [];
  let accepted = 0;
  const server = createServer((s) => {
    const conn = ++accepted;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let buf = '';
    let n = 0;
    s.on('data', (d) => {
      buf += d.toString('latin1');
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
        const head = buf.slice(0, end);
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        buf = buf.slice(end + 4 + length);
        const [method, path] = head.split(' ');
        seen.push(`${conn}:${method} ${path}`);
        answer(s, method, path, ++n);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => accepted,
    seen,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const get = (url: string) => ({ method: 'GET' as const, url, headers: {}, body: null });

test('a body sent as a million 1-byte chunks is kept at about its own size, not an object per chunk', { timeout: 60_000 }, async () => {
  const N = 1_000_000;
  const srv = await rawServer((s) => {
    s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n');
    const piece = Buffer.from('1\r\na\r\n'.repeat(100_000));
    let left = N / 100_000;
    const pump = (): void => {
      while (left > 0) {
        left--;
        if (!s.write(piece)) return void s.once('drain', pump);
      }
      s.end('0\r\n\r\n');
    };
    pump();
  });
  const t = createTransport(transportConfig({ max_response_bytes: 2 * N, timeout_ms: 50_000, body_timeout_ms: 50_000 }));
  try {
    // Kept as views, each chunk was a Buffer object (~100 bytes of heap) pinning its
    // read buffer: ~100 MB of heap for this 1 MB body. Sampled while the body arrives.
    global.gc?.();
    const base = process.memoryUsage().heapUsed;
    let peak = base;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 5);
    const r = await t.send(get(srv.url + '/'));
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().heapUsed);
    assert.equal(r.body.length, N);
    assert.ok(/^a+$/.test(r.body));
    assert.equal(r.truncated, false);
    assert.ok(peak - base < 40 * 1024 * 1024, `heap grew by ${Math.round((peak - base) / 1048576)} MB`);
  } finally {
    await t.close();
    await srv.close();
  }
});

test('chunks of every size in one body come out whole and in order, and the cap still cuts exactly', async () => {
  // Many small chunks (copied), big ones (kept as views) in between, small ones again.
  const parts: string[] = [];
  for (let i = 0; i < 3000; i++) parts.push(String.fromCharCode(97 + (i % 26)).repeat(i % 7 === 0 ? 9000 + i : 1 + (i % 50)));
  const body = parts.join('');
  const srv = await rawServer((s) => {
    s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n');
    s.end(parts.map((p) => `${p.length.toString(16)}\r\n${p}\r\n`).join('') + '0\r\n\r\n');
  });
  const t = createTransport(transportConfig({ max_response_bytes: body.length }));
  const cut = createTransport(transportConfig({ max_response_bytes: body.length - 12_345 }));
  try {
    const r = await t.send(get(srv.url + '/'));
    assert.equal(r.body, body);
    assert.equal(r.truncated, false);
    const c = await cut.send(get(srv.url + '/'));
    assert.equal(c.body, body.slice(0, body.length - 12_345));
    assert.equal(c.truncated, true);
  } finally {
    await t.close();
    await cut.close();
    await srv.close();
  }
});

test('a compressed body cut off mid-stream (its framing correct) fails as parse, saying so; whole and capped ones do not', async () => {
  const full = Buffer.from(JSON.stringify({ items: Array.from({ length: 10_000 }, (_, i) => `item-${i}`) }));
  const encoded: Record<string, Buffer> = {
    gzip: zlib.gzipSync(full),
    br: zlib.brotliCompressSync(full),
    deflate: zlib.deflateSync(full),
    raw: zlib.deflateRawSync(full),
    trailerless: zlib.gzipSync(full).subarray(0, -8),
  };
  const srv = await rawServer((s, _m, path) => {
    const [, name, how] = path.split('/');
    const b = how === 'half' ? encoded[name].subarray(0, encoded[name].length >> 1) : encoded[name];
    const coding = name === 'raw' ? 'deflate' : name === 'trailerless' ? 'gzip' : name;
    s.write(`HTTP/1.1 200 OK\r\nContent-Encoding: ${coding}\r\nContent-Length: ${b.length}\r\nConnection: close\r\n\r\n`);
    s.end(b);
  });
  const t = createTransport(transportConfig());
  const capped = createTransport(transportConfig({ max_response_bytes: 1000 }));
  try {
    for (const [name, coding] of [['gzip', 'gzip'], ['br', 'br'], ['deflate', 'deflate'], ['raw', 'deflate']]) {
      const e = await failure(t.send(get(`${srv.url}/${name}/half`)));
      assert.deepEqual([e.errorClass, e.code, e.retryable], ['parse', 'RESTLAKE_BODY_DECODE', false], name);
      assert.equal(e.message, `response body ends before its compressed stream does (content-encoding ${coding}): the body was cut off`, name);
      const whole = await t.send(get(`${srv.url}/${name}/whole`));
      assert.equal(whole.body, full.toString(), name);
      // Cut on purpose at max_response_bytes: the prefix, flagged, as before.
      const c = await capped.send(get(`${srv.url}/${name}/whole`));
      assert.deepEqual([c.truncated, c.body], [true, full.toString().slice(0, 1000)], name);
      const ch = await capped.send(get(`${srv.url}/${name}/half`));
      assert.deepEqual([ch.truncated, ch.body], [true, full.toString().slice(0, 1000)], `${name} half, over the cap before its end`);
    }
    // Without its trailer (the checksum) a gzip body cannot be told from one cut short.
    const e = await failure(t.send(get(`${srv.url}/trailerless/whole`)));
    assert.equal(e.message, 'response body ends before its compressed stream does (content-encoding gzip): the body was cut off');
  } finally {
    await t.close();
    await capped.close();
    await srv.close();
  }
});

test('a body that cannot become text fails the attempt with the reason instead of leaving it pending', { timeout: 20_000 }, async () => {
  const srv = await rawServer((s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 12345\r\nConnection: close\r\n\r\n' + 'q'.repeat(12_345)));
  const t = createTransport(transportConfig());
  const toString = Buffer.prototype.toString;
  // What a 540 MB body did: more characters than a string holds.
  Buffer.prototype.toString = function (this: Buffer, ...args: unknown[]) {
    if (this.length === 12_345) throw Object.assign(new Error('Cannot create a string longer than 0x1fffffe8 characters'), { code: 'ERR_STRING_TOO_LONG' });
    return (toString as (...a: unknown[]) => string).apply(this, args);
  } as typeof toString;
  try {
    const e = await failure(t.send(get(srv.url + '/')));
    assert.deepEqual([e.errorClass, e.code, e.retryable], ['internal', 'RESTLAKE_BODY_TEXT', false]);
    assert.equal(e.message, 'response body of 12345 bytes could not be decoded as text (ERR_STRING_TOO_LONG)');
  } finally {
    Buffer.prototype.toString = toString;
    await t.close();
    await srv.close();
  }
});

// Keep-alive sockets that the server closes as the next request goes out: the first
// request on a connection is answered, the second never (the connection is closed,
// with a FIN or a reset), as a server with a short idle timeout does in the race.
async function closingServer(): Promise<Raw> {
  return rawServer((s, _method, path, n) => {
    if (n === 1) s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${path.length}\r\n\r\n${path}`);
    else if (path.includes('rst')) s.resetAndDestroy();
    else s.destroy();
  });
}

test('a request whose reused keep-alive socket closes before any response byte is sent once more, on a new connection', async () => {
  const srv = await closingServer();
  const t = createTransport(transportConfig({ connections: 1 }));
  try {
    const first = await t.send(get(srv.url + '/a'));
    assert.deepEqual([first.body, first.resent], ['/a', false]);
    // The reused socket is closed (FIN): sent again on a new connection, within the same
    // attempt, and said so (the sink's attempts counts both sends).
    const again = await t.send(get(srv.url + '/b'));
    assert.deepEqual([again.body, again.resent], ['/b', true]);
    assert.deepEqual(srv.seen, ['1:GET /a', '1:GET /b', '2:GET /b']);
    // Reset instead (ECONNRESET): the same. PUT, DELETE, HEAD and OPTIONS are idempotent too.
    assert.equal((await t.send({ method: 'PUT', url: srv.url + '/c', headers: {}, body: 'x' })).status, 200);
    assert.equal((await t.send({ method: 'DELETE', url: srv.url + '/rst', headers: {}, body: null })).body, '/rst');
    assert.deepEqual(srv.seen.slice(3), ['3:PUT /c', '3:DELETE /rst', '4:DELETE /rst']);
  } finally {
    await t.close();
    await srv.close();
  }
});

test('a POST is not sent again unless it carries the idempotency header; a fresh connection closed early is not replayed', async () => {
  const srv = await closingServer();
  const plain = createTransport(transportConfig({ connections: 1 }));
  const keyed = createTransport(transportConfig({ connections: 1 }), { idempotencyHeader: 'Idempotency-Key' });
  try {
    assert.equal((await plain.send(get(srv.url + '/a'))).status, 200);
    const e = await failure(plain.send({ method: 'POST', url: srv.url + '/p', headers: {}, body: '{}' }));
    assert.deepEqual([e.errorClass, e.message, e.retryable], ['connection', 'connection closed by the server (UND_ERR_SOCKET)', true]);
    assert.deepEqual(srv.seen, ['1:GET /a', '1:POST /p']);

    assert.equal((await keyed.send(get(srv.url + '/a'))).status, 200);
    const r = await keyed.send({ method: 'POST', url: srv.url + '/k', headers: { 'idempotency-key': 'k1' }, body: '{}' });
    assert.equal(r.body, '/k');
    assert.deepEqual(srv.seen.slice(2), ['2:GET /a', '2:POST /k', '3:POST /k']);
  } finally {
    await plain.close();
    await keyed.close();
    await srv.close();
  }
  // Closed before answering the first request on a new connection: failed, sent once.
  const hangup = await rawServer((s) => s.destroy());
  const t = createTransport(transportConfig());
  try {
    const e = await failure(t.send(get(hangup.url + '/x')));
    assert.equal(e.message, 'connection closed by the server (UND_ERR_SOCKET)');
    assert.deepEqual(hangup.seen, ['1:GET /x']);
  } finally {
    await t.close();
    await hangup.close();
  }
});

test('responses llhttp refuses name what was wrong; a malformed one is not retryable, a chunked body cut short is', async () => {
  const J = '{"v":"ok"}';
  const H = (extra: string, body = '') => `HTTP/1.1 200 OK\r\n${extra}Connection: close\r\n\r\n${body}`;
  const answers: Record<string, string> = {
    '/unterminated': H('Transfer-Encoding: chunked\r\n', `a\r\n${J}\r\n`),
    '/chunk-size': H('Transfer-Encoding: chunked\r\n', `zz\r\n${J}\r\n0\r\n\r\n`),
    '/header-ctl': H(`X-Bad: a\x01b\r\nContent-Length: ${J.length}\r\n`, J),
    '/status4': `HTTP/1.1 2000 OK\r\nContent-Length: ${J.length}\r\nConnection: close\r\n\r\n${J}`,
    '/garbage': 'garbage garbage\r\n\r\n',
    '/continue': `HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: ${J.length}\r\nConnection: close\r\n\r\n${J}`,
    '/huge-header': H(`X-Big: ${'v'.repeat(64 * 1024)}\r\nContent-Length: ${J.length}\r\n`, J),
    '/early-hints': `HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: ${J.length}\r\nConnection: close\r\n\r\n${J}`,
  };
  const srv = await rawServer((s, _m, path) => s.end(answers[path]));
  const t = createTransport(transportConfig());
  const expect: [path: string, retryable: boolean, code: string, message: string][] = [
    ['/unterminated', true, 'RESTLAKE_CONNECTION', 'connection closed before the end of the response body (chunked body not terminated)'],
    ['/chunk-size', false, 'RESTLAKE_MALFORMED_RESPONSE', 'malformed HTTP response: invalid chunk size'],
    ['/header-ctl', false, 'RESTLAKE_MALFORMED_RESPONSE', 'malformed HTTP response: a header value holds a control character'],
    ['/status4', false, 'RESTLAKE_MALFORMED_RESPONSE', 'malformed HTTP response: the status code is not three digits'],
    ['/garbage', false, 'RESTLAKE_MALFORMED_RESPONSE', 'malformed HTTP response: the status line does not start with HTTP/'],
    ['/continue', false, 'RESTLAKE_MALFORMED_RESPONSE', 'malformed HTTP response: an interim 100 Continue that was not asked for (the HTTP client cannot read past it)'],
    ['/huge-header', false, 'RESTLAKE_MALFORMED_RESPONSE', "response headers over the HTTP client's limit of 16384 bytes (UND_ERR_HEADERS_OVERFLOW)"],
  ];
  try {
    for (const [path, retryable, code, message] of expect) {
      const e = await failure(t.send(get(srv.url + path)));
      assert.deepEqual([e.errorClass, e.code, e.retryable, e.message], ['connection', code, retryable, message], path);
    }
    const r = await t.send(get(srv.url + '/early-hints'));
    assert.deepEqual([r.status, r.body], [200, J]);
  } finally {
    await t.close();
    await srv.close();
  }
});
