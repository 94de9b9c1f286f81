import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RestlakeError } from '../errors.js';
import { httpServer, readBody, transportConfig } from '../transport/test-support.js';
import { createTransport } from '../transport/undici-transport.js';
import { composeHandler } from './compose.js';
import { moduleMiddleware } from './module.js';
import { exchange, testRuntime } from './test-support.js';
import { transportHandler } from './transport-handler.js';
import type { Middleware } from './types.js';

const dir = mkdtempSync(join(tmpdir(), 'restlake-mw-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

async function send(mw: Middleware, url: string, body: string | null = null) {
  const cfg = transportConfig();
  const transport = createTransport(cfg);
  try {
    const ex = exchange({ url, method: body === null ? 'GET' : 'POST', body });
    await composeHandler([mw], transportHandler(transport, cfg))(ex);
    return ex;
  } finally {
    await transport.close();
  }
}

const echoHeaders = () =>
  httpServer(async (req, res) => {
    const body = await readBody(req);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ headers: req.headers, body, url: req.url, method: req.method }));
  });

test('loads a TypeScript module (types stripped) and its factory gets options and runtime', async () => {
  const p = file(
    'tag.ts',
    `import type { MiddlewareFactory } from 'restlake/middleware';
     interface Opts { value: string }
     export const tag: MiddlewareFactory<Opts> = (options: Opts, runtime) => {
       const v: string = options.value + '@' + runtime.runId;
       return async (ex, next) => { ex.request.headers['x-tag'] = v; await next(); };
     };`,
  );
  const srv = await echoHeaders();
  try {
    const mw = await moduleMiddleware({ path: p, export: 'tag', options: { value: 'hello' } }, testRuntime());
    const ex = await send(mw, srv.url + '/');
    assert.equal(JSON.parse(ex.response!.body).headers['x-tag'], 'hello@run-test');
    // The transpiled temporary file is gone.
    assert.deepEqual(readdirSync(dir).filter((n) => n.includes('restlake-')), []);
  } finally {
    await srv.close();
  }
});

test('loads .mjs (default export) and CommonJS .js modules', async () => {
  const mjs = file('def.mjs', `export default (o) => async (ex, next) => { ex.request.headers['x-m'] = o.v; await next(); };`);
  const cjs = file('cj.js', `exports.cj = (o) => async (ex, next) => { ex.request.headers['x-c'] = o.v; await next(); };`);
  const srv = await echoHeaders();
  try {
    const a = await moduleMiddleware({ path: mjs, options: { v: '1' } }, testRuntime());
    const b = await moduleMiddleware({ path: cjs, export: 'cj', options: { v: '2' } }, testRuntime());
    assert.equal(JSON.parse((await send(a, srv.url + '/')).response!.body).headers['x-m'], '1');
    assert.equal(JSON.parse((await send(b, srv.url + '/')).response!.body).headers['x-c'], '2');
  } finally {
    await srv.close();
  }
});

async function configError(p: unknown, re: RegExp) {
  await assert.rejects(Promise.resolve(p), (e: unknown) => e instanceof RestlakeError && e.code === 'RESTLAKE_MIDDLEWARE_MODULE' && re.test(e.message));
}

test('clear config-time errors: missing file, missing export, not a factory, bad TypeScript, factory failures', async () => {
  const rt = testRuntime();
  await configError(moduleMiddleware({ path: join(dir, 'nope.ts'), export: 'x' }, rt), /nope\.ts: file not found/);
  const p = file('named.mjs', `export const a = () => async (ex, next) => next(); export const notFn = 42; export const bad = () => 'nope'; export const throws = () => { throw new Error('bad options'); };`);
  await configError(moduleMiddleware({ path: p, export: 'missing' }, rt), /no export "missing" \(it exports: .*a.*\)/);
  await configError(moduleMiddleware({ path: p, export: 'notFn' }, rt), /"notFn" is a number, not a MiddlewareFactory/);
  await configError(moduleMiddleware({ path: p, export: 'bad' }, rt), /returned a string, not a middleware/);
  await configError(moduleMiddleware({ path: p, export: 'throws' }, rt), /threw: bad options/);
  const broken = file('broken.ts', 'export const x = (: number) => 1;');
  await configError(moduleMiddleware({ path: broken, export: 'x' }, rt), /cannot transpile: .*line 1/);
  await configError(moduleMiddleware({ path: file('x.py', ''), export: 'x' }, rt), /unsupported extension/);
  const throwsOnImport = file('boom.mjs', `throw new Error('import-time failure');`);
  await configError(moduleMiddleware({ path: throwsOnImport, export: 'x' }, rt), /cannot be loaded: import-time failure/);
});

test('a factory or a module top level that quotes a secret in its error: the message is redacted and keeps no cause holding it', async () => {
  const secret = 'sigsecret99';
  const factoryThrows = file('quotes.mjs', `export const bad = (o) => { throw new Error('bad signing key ' + o.secret + ' (' + encodeURIComponent(o.secret + '/x') + ')'); };`);
  // The top level reads it from the environment, as a signing module might.
  const topLevelThrows = file('quotes-top.mjs', `throw new Error('SIGN_KEY must be 8 hex digits, got ${secret}');`);
  for (const [p, expected] of [
    [factoryThrows, /factory "bad" threw: bad signing key \[REDACTED\]/],
    [topLevelThrows, /cannot be loaded: SIGN_KEY must be 8 hex digits, got \[REDACTED\]/],
  ] as const) {
    const err = await Promise.resolve(moduleMiddleware({ path: p, export: 'bad', options: { secret } }, testRuntime({ secrets: [secret] }))).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof RestlakeError && err.code === 'RESTLAKE_MIDDLEWARE_MODULE');
    assert.match(err.message, expected);
    assert.ok(!err.message.includes(secret), err.message);
    assert.ok(!String(err.stack).includes(secret));
    assert.equal(err.cause, undefined);
  }
});

test('examples/middleware/sign.ts loads through module and produces a verifiable HMAC signature', async () => {
  const example = fileURLToPath(new URL('../../examples/middleware/sign.ts', import.meta.url));
  const secret = 'example-signing-secret';
  const srv = await echoHeaders();
  try {
    const mw = await moduleMiddleware({ path: example, export: 'sign', options: { key_id: 'abc', secret } }, testRuntime({ secrets: [secret] }));
    const ex = await send(mw, srv.url + '/v1/orders?x=1', '{"id":1}');
    const seen = JSON.parse(ex.response!.body) as { headers: Record<string, string>; body: string; url: string; method: string };
    const m = /^keyId=abc,ts=(\d+),sig=([0-9a-f]{64})$/.exec(seen.headers['x-signature']);
    assert.ok(m, seen.headers['x-signature']);
    const expected = createHmac('sha256', secret).update(`${seen.method}\n${seen.url}\n${m[1]}\n${seen.body}`).digest('hex');
    assert.equal(m[2], expected);
    await configError(moduleMiddleware({ path: example, export: 'sign', options: {} }, testRuntime()), /key_id and secret are required/);
  } finally {
    await srv.close();
  }
});
