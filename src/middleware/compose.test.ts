import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compose, composeHandler } from './compose.js';
import { exchange } from './test-support.js';
import type { Middleware } from './types.js';

const tag = (name: string, log: string[]): Middleware => async (ex, next) => {
  log.push(`${name}>`);
  ex.request.headers[name] = String(Number(ex.request.headers[name] ?? 0) + 1);
  await next();
  log.push(`<${name}`);
};

test('onion order: first is outermost, the inner handler runs last', async () => {
  const log: string[] = [];
  const h = composeHandler([tag('a', log), tag('b', log)], async () => {
    log.push('send');
  });
  await h(exchange({ url: 'http://x/' }));
  assert.deepEqual(log, ['a>', 'b>', 'send', '<b', '<a']);
});

test('next may be called several times; each call re-runs the inner layers', async () => {
  const log: string[] = [];
  let sends = 0;
  const twice: Middleware = async (_ex, next) => {
    await next();
    await next();
  };
  const ex = exchange({ url: 'http://x/' });
  await composeHandler([twice, tag('inner', log)], async () => {
    sends++;
  })(ex);
  assert.equal(sends, 2);
  assert.deepEqual(log, ['inner>', '<inner', 'inner>', '<inner']);
  assert.equal(ex.request.headers.inner, '2');
});

test('compose groups middleware into one, running them in order around next', async () => {
  const log: string[] = [];
  const grouped = compose([tag('x', log), tag('y', log)]);
  await composeHandler([grouped], async () => {
    log.push('send');
  })(exchange({ url: 'http://x/' }));
  assert.deepEqual(log, ['x>', 'y>', 'send', '<y', '<x']);
});

test('an error thrown by a middleware propagates to the caller', async () => {
  const boom: Middleware = async () => {
    throw new Error('boom');
  };
  await assert.rejects(composeHandler([boom], async () => {})(exchange({ url: 'http://x/' })), /boom/);
});
