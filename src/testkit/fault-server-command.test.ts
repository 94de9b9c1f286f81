import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { runFaultServerCommand, testkitCommand } from './fault-server-command.js';

function capture() {
  let out = '';
  let err = '';
  return { io: { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } }, out: () => out, err: () => err };
}

test('fault-server command serves the asked mix until stopped, then prints what it injected', async () => {
  const c = capture();
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  const done = runFaultServerCommand(['--port', '0', '--mix', 'status_503=1'], c.io, stopped);
  while (!c.out().includes('listening')) await new Promise((r) => setTimeout(r, 10));
  const url = /listening on (\S+)/.exec(c.out())![1];
  const first = await request(`${url}/x/1`);
  await first.body.text();
  assert.equal(first.statusCode, 503);
  const second = await request(`${url}/x/1`);
  await second.body.text();
  assert.equal(second.statusCode, 200);
  stop();
  assert.equal(await done, 0);
  assert.match(c.out(), /requests: 2, served ok: 1/);
  assert.match(c.out(), /status_503: 1/);
});

test('fault-server command refuses bad options with usage and exit 2', async () => {
  for (const args of [['--mix', 'bogus=0.1'], ['--port', 'x'], ['stray'], ['--mix', 'reset=0.8,status_500=0.8']]) {
    const c = capture();
    assert.equal(await runFaultServerCommand([...args, '--port', args[0] === '--port' ? 'x' : '0'], c.io, Promise.resolve()), 2, args.join(' '));
    assert.match(c.err(), /fault-server/);
  }
});

test('testkit command dispatches fault-server and explains itself', async () => {
  const c = capture();
  assert.equal(await testkitCommand.run(['nope'], c.io), 2);
  assert.match(c.err(), /usage: restlake testkit fault-server/);
  const h = capture();
  assert.equal(await testkitCommand.run(['fault-server', '--help'], h.io), 0);
  assert.match(h.out(), /--mix K=P/);
  assert.match(h.out(), /truncated_json/);
});
