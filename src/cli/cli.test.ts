// The CLI in-process: validate, plan, usage errors, help, inspect, schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { main } from './main.js';
import type { CommandIO } from './commands.js';
import { startCli, startTestServer, tempDir } from '../engine/e2e-support.js';

function io(cwd: string, env: NodeJS.ProcessEnv = {}): CommandIO & { out(): string; err(): string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    cwd,
    env,
    out: () => out,
    err: () => err,
  };
}

test('validate: exit 2 listing every error with its path, and nothing is sent', async () => {
  const tmp = await tempDir();
  const server = await startTestServer();
  try {
    await writeFile(join(tmp.dir, 'rows.csv'), 'id\n1\n2\n');
    const bad = join(tmp.dir, 'bad.yaml');
    await writeFile(
      bad,
      [
        'version: 1',
        'name: Bad-Name',
        'source: { path: ./rows.csv }',
        'request:',
        `  url: "${server.url}/items/{{ id }}"`,
        '  method: FETCH',
        'sink: { path: ./lake/out }',
        'execution: { concurrency: -3 }',
      ].join('\n'),
    );
    for (const cmd of ['validate', 'run', 'plan']) {
      const c = io(tmp.dir);
      const code = await main([cmd, 'bad.yaml'], c);
      assert.equal(code, 2, `${cmd}: ${c.err()}`);
      assert.match(c.err(), /name/);
      assert.match(c.err(), /request\.method/);
      assert.match(c.err(), /execution\.concurrency/);
      assert.doesNotMatch(c.err(), /\n\s+at /, 'no stack trace');
    }
    assert.equal(server.count(), 0, 'no request may be sent for a bad config');

    const good = join(tmp.dir, 'good.yaml');
    await writeFile(good, ['version: 1', 'name: good', 'source: { path: ./rows.csv }', 'request:', `  url: "${server.url}/items/{{ id }}"`, 'sink: { path: ./lake/out }'].join('\n'));
    const c = io(tmp.dir);
    assert.equal(await main(['validate', 'good.yaml'], c), 0, c.err());
    assert.match(c.out(), /ok: good/);
    // --set overrides are validated too.
    const c2 = io(tmp.dir);
    assert.equal(await main(['validate', 'good.yaml', '--set', 'execution.concurrency=0'], c2), 2);
    assert.match(c2.err(), /execution\.concurrency/);
    // An API key from the environment, in the URL: validate shows the URL without it.
    process.env.RL_TEST_API_KEY = 'sk_live_abcdef123456';
    try {
      const c3 = io(tmp.dir);
      const url = `${server.url}/items/{{ id }}?api_key=\${env:RL_TEST_API_KEY}`;
      assert.equal(await main(['validate', 'good.yaml', '--set', `request.url=${url}`], c3), 0, c3.err());
      assert.match(c3.out(), /\?api_key=\[REDACTED\]\n/);
      assert.doesNotMatch(c3.out(), /sk_live/);
    } finally {
      delete process.env.RL_TEST_API_KEY;
    }
    assert.equal(server.count(), 0);
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});

test('plan renders the first requests with secrets redacted and sends nothing', async () => {
  const tmp = await tempDir();
  const server = await startTestServer();
  try {
    await writeFile(join(tmp.dir, 'rows.csv'), 'id,region\n1,eu\n2,us\n3,eu\n');
    await writeFile(
      join(tmp.dir, 'p.yaml'),
      [
        'version: 1',
        'name: planned',
        'source: { path: ./rows.csv }',
        'request:',
        '  method: POST',
        `  url: "${server.url}/items/{{ id }}"`,
        '  query: { region: "{{ region }}", key: "${env:PLAN_API_KEY}" }',
        '  headers: { X-Api-Key: "${env:PLAN_API_KEY}" }',
        '  body: { json: { id: "{{ id }}" } }',
        'auth: { type: bearer, token: "${env:PLAN_TOKEN}" }',
        'sink: { path: ./lake/out }',
      ].join('\n'),
    );
    const secretToken = 'tok-SUPERSECRET-123';
    const apiKey = 'key-HIDDEN-456';
    const prev = { t: process.env.PLAN_TOKEN, k: process.env.PLAN_API_KEY };
    process.env.PLAN_TOKEN = secretToken;
    process.env.PLAN_API_KEY = apiKey;
    try {
      const c = io(tmp.dir, process.env);
      const code = await main(['plan', 'p.yaml', '--limit', '2'], c);
      assert.equal(code, 0, c.err());
      const out = c.out();
      assert.match(out, new RegExp(`POST ${server.url.replace(/\./g, '\\.')}/items/1\\?region=eu`));
      assert.match(out, /\/items\/2\?region=us/);
      assert.doesNotMatch(out, /\/items\/3/, '--limit 2');
      assert.match(out, /"id":1/);
      assert.ok(!out.includes(secretToken), 'bearer token must be redacted');
      assert.ok(!out.includes(apiKey), 'configured secrets must be redacted');
      assert.match(out, /authorization/i);
      assert.equal(server.count(), 0, 'plan sends nothing');
    } finally {
      process.env.PLAN_TOKEN = prev.t;
      process.env.PLAN_API_KEY = prev.k;
      if (prev.t === undefined) delete process.env.PLAN_TOKEN;
      if (prev.k === undefined) delete process.env.PLAN_API_KEY;
    }
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});

test('transport.tls.verify: false is warned about once by validate, plan and run (and never when verify is on)', { timeout: 60_000 }, async () => {
  const tmp = await tempDir();
  const server = await startTestServer();
  const WARNING =
    'restlake: warn: transport.tls.verify is false: server certificates are not checked, so anyone on the network path can pose as the API and read the requests, credentials included; use it only for testing, or trust a private CA with transport.tls.ca_file\n';
  try {
    await writeFile(join(tmp.dir, 'rows.csv'), 'id\n1\n');
    for (const verify of [false, true]) {
      await writeFile(
        join(tmp.dir, 'p.yaml'),
        ['version: 1', 'name: noverify', 'source: { path: ./rows.csv }', `request: { url: "${server.url}/items/{{ id }}" }`, `transport: { tls: { verify: ${verify} } }`, 'sink: { path: ./lake/out, mode: overwrite }'].join('\n'),
      );
      for (const args of [['validate', 'p.yaml'], ['plan', 'p.yaml', '--json'], ['run', 'p.yaml', '--quiet']]) {
        const c = io(tmp.dir);
        assert.equal(await main(args, c), 0, c.err());
        assert.equal(c.err(), verify ? '' : WARNING, `${args[0]} with verify: ${verify}`);
        if (args[0] === 'plan') assert.doesNotMatch(c.out(), /warn/, 'plan --json keeps stdout to the requests');
      }
    }
    assert.equal(server.count(), 2, 'one request per run');
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});

test('run and plan of a CSV with a bad line: exit 3, the line shown in full (the sniffer alone blamed a missing column), nothing sent', async () => {
  const tmp = await tempDir();
  const server = await startTestServer();
  try {
    await writeFile(join(tmp.dir, 'rows.csv'), 'id,name\n1,a\n2,b,extra\n4,d\n');
    await writeFile(join(tmp.dir, 'p.yaml'), ['version: 1', 'name: bad_lines', 'source: { path: ./rows.csv }', `request: { url: "${server.url}/items/{{ id }}" }`, 'sink: { path: ./lake/out }'].join('\n'));
    for (const args of [['run', 'p.yaml'], ['plan', 'p.yaml']]) {
      const c = io(tmp.dir);
      assert.equal(await main(args, c), 3, args[0]);
      const file = join(tmp.dir, 'rows.csv');
      assert.equal(c.err(), `restlake: cannot read source ${file} (csv): 1 line that cannot be read; nothing was sent\n  ${file} line 3: 3 fields where the header has 2: "2,b,extra"\n`);
    }
    assert.equal(server.count(), 0);
  } finally {
    await server.close();
    await tmp.cleanup();
  }
});

test('usage errors exit 2; help lists every command; unknown commands exit 2', async () => {
  const c = io('/');
  assert.equal(await main(['help'], c), 0);
  for (const name of ['run', 'validate', 'plan', 'inspect', 'schema', 'demo', 'report', 'spark']) assert.match(c.out(), new RegExp(`\\b${name}\\b`));
  const u = io('/');
  assert.equal(await main(['frobnicate'], u), 2);
  assert.match(u.err(), /unknown command "frobnicate"/);
  const m = io('/');
  assert.equal(await main(['run'], m), 2);
  assert.match(m.err(), /missing <config>/);
  const f = io('/');
  assert.equal(await main(['plan', 'x.yaml', '--limit', 'zero'], f), 2);
  assert.match(f.err(), /--limit/);
});

test('--help (or -h, or `help <command>`) prints that command\'s usage and exits 0, before any other argument is checked', async () => {
  for (const [argv, usage] of [
    [['run', '--help'], 'usage: restlake run <config>'],
    [['run', 'missing.yaml', '-h'], 'usage: restlake run <config>'],
    [['validate', '--help'], 'usage: restlake validate <config>'],
    [['plan', '--limit', 'zero', '--help'], 'usage: restlake plan <config>'],
    [['inspect', '-h'], 'usage: restlake inspect <table>'],
    [['schema', '--help'], 'usage: restlake schema'],
    [['help', 'run'], 'usage: restlake run <config>'],
    [['help', 'demo'], 'usage: restlake demo'],
  ] as const) {
    const c = io('/');
    assert.equal(await main([...argv], c), 0, argv.join(' '));
    assert.ok(c.out().startsWith(usage), `${argv.join(' ')}: ${c.out()}`);
    assert.equal(c.err(), '', argv.join(' '));
  }
  // After `--` it is an argument, not a flag; `help` of an unknown command is a usage error.
  const a = io('/');
  assert.equal(await main(['run', 'x.yaml', '--', '--help'], a), 2);
  assert.match(a.err(), /unexpected arguments: --help/);
  const b = io('/');
  assert.equal(await main(['help', 'frobnicate'], b), 2);
  assert.match(b.err(), /unknown command "frobnicate"/);
  const s = io('/');
  assert.equal(await main(['schema', 'extra'], s), 2);
  assert.match(s.err(), /takes no arguments/);
});

test('inspect of a missing table exits 3 with one line', async () => {
  const tmp = await tempDir();
  try {
    const c = io(tmp.dir);
    assert.equal(await main(['inspect', 'nope'], c), 3);
    assert.match(c.err(), /no Delta table/);
    assert.equal(c.err().trim().split('\n').length, 1);
  } finally {
    await tmp.cleanup();
  }
});

test('plan logs no attempt: the logging middleware would report a status 200 for a request never sent', async () => {
  const tmp = await tempDir();
  try {
    await writeFile(join(tmp.dir, 'rows.csv'), 'id\n1\n');
    await writeFile(
      join(tmp.dir, 'p.yaml'),
      ['version: 1', 'name: planned', 'source: { path: ./rows.csv }', 'request: { url: "http://127.0.0.1:9/items/{{ id }}" }', 'middleware: [{ type: logging, level: info }]', 'sink: { path: ./lake/out }'].join('\n'),
    );
    const cli = startCli(['plan', 'p.yaml'], { cwd: tmp.dir });
    assert.equal(await cli.done, 0, cli.err());
    assert.doesNotMatch(cli.err(), /"status":200|"msg":"request"/);
  } finally {
    await tmp.cleanup();
  }
});
