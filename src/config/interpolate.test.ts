import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { loadConfig } from './load.js';
import { interpolate } from './interpolate.js';
import { MINIMAL_YAML, issuesOf, tempDir, type TempDir } from './testing.js';

let tmp: TempDir;
before(async () => {
  tmp = await tempDir();
});
after(async () => {
  await tmp.cleanup();
});

test('${env:} and ${file:} are replaced in any string, at any depth; $${ is a literal', async () => {
  await tmp.write('secret.txt', 'from-file\n');
  const r = await interpolate(
    { a: 'x-${env:A}-y', list: [{ deep: '${file:secret.txt}' }], lit: 'cost $${env:A}', n: 5, fb: '${env:UNSET:-dflt}', empty: '${env:EMPTY}', efb: '${env:EMPTY:-shell}' },
    { env: { A: 'aa', EMPTY: '' }, baseDir: tmp.dir },
  );
  assert.deepEqual(r.issues, []);
  // A variable set to nothing takes the fallback, as ${X:-y} does in the shell.
  assert.deepEqual(r.value, { a: 'x-aa-y', list: [{ deep: 'from-file' }], lit: 'cost ${env:A}', n: 5, fb: 'dflt', empty: '', efb: 'shell' });
  assert.deepEqual(
    r.references.map((x) => [x.path.join('.'), x.kind, x.name, x.value]),
    [
      ['a', 'env', 'A', 'aa'],
      ['list.0.deep', 'file', 'secret.txt', 'from-file'],
      ['fb', 'env', 'UNSET', 'dflt'],
      ['empty', 'env', 'EMPTY', ''],
      ['efb', 'env', 'EMPTY', 'shell'],
    ],
  );
});

test('a "__proto__" key stays data', async () => {
  const r = await interpolate(JSON.parse('{"__proto__": {"polluted": "${env:A}"}}'), { env: { A: 'v' }, baseDir: tmp.dir });
  assert.deepEqual(Object.keys(r.value as object), ['__proto__']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('every missing variable is reported at its key path, with its name and never a value', async () => {
  const file = await tmp.write(
    'miss.yaml',
    MINIMAL_YAML.replace('  url:', '  headers: { Authorization: "Bearer ${env:RL_TOKEN}" }\n  url:') +
      'auth:\n  type: basic\n  username: ${env:RL_USER}\n  password: ${env:RL_PASS}\n',
  );
  const issues = await issuesOf(file, { env: { RL_USER: 'bob' } });
  assert.deepEqual(issues, [
    { path: 'request.headers.Authorization', message: 'environment variable RL_TOKEN is not set (referenced as ${env:RL_TOKEN})', line: 6, file },
    { path: 'auth.password', message: 'environment variable RL_PASS is not set (referenced as ${env:RL_PASS})', line: 13, file },
  ]);
});

test('resolved secrets are recorded; values from env or files never appear in messages', async () => {
  await tmp.write('cs.txt', 'client-secret-from-file\n');
  const ok = await loadConfig(
    await tmp.write(
      'sec.yaml',
      MINIMAL_YAML.replace('  url:', '  headers: { Authorization: "Bearer ${env:RL_TOKEN}", X-Trace: "${env:RL_TRACE}" }\n  url:') +
        'auth:\n  type: oauth2_client_credentials\n  token_url: https://idp.example.com/t\n  client_id: ${file:cs-id.txt:-x}\n  client_secret: ${file:cs.txt}\n',
    ),
    { env: { RL_TOKEN: 'tok-abc', RL_TRACE: 'trace-1' } },
  ).catch((e: unknown) => e);
  // client_id references a file that does not exist (":-x" is not a fallback for files).
  assert.ok(ok instanceof ConfigError);
  assert.deepEqual(
    ok.issues.map((i) => [i.path, i.message.replace(tmp.dir, '<dir>')]),
    [['auth.client_id', 'cannot read ${file:cs-id.txt:-x}: no such file (<dir>/cs-id.txt:-x)']],
  );

  const c = await loadConfig(
    await tmp.write(
      'sec2.yaml',
      MINIMAL_YAML.replace('  url:', '  headers: { Authorization: "Bearer ${env:RL_TOKEN}", X-Trace: "${env:RL_TRACE}" }\n  url:') +
        'auth:\n  type: oauth2_client_credentials\n  token_url: https://idp.example.com/t\n  client_id: ${file:cs.txt}\n  client_secret: ${file:cs.txt}\n',
    ),
    { env: { RL_TOKEN: 'tok-abc', RL_TRACE: 'trace-1' } },
  );
  assert.equal(c.request.headers.Authorization, 'Bearer tok-abc');
  assert.equal(c.request.headers['X-Trace'], 'trace-1');
  assert.deepEqual([...c.secrets].sort(), ['Bearer tok-abc', 'client-secret-from-file', 'tok-abc']);

  // A bad value that came from the environment is not echoed back.
  const file = await tmp.write('leak.yaml', MINIMAL_YAML + 'transport:\n  timeout: ${env:RL_TIMEOUT}\nauth: { type: bearer, token: "${env:RL_TOK}" }\nexecution: { workers: "${env:RL_TOK}" }\n');
  const issues = await issuesOf(file, { env: { RL_TIMEOUT: 'ten-seconds', RL_TOK: 'sup3r-secret' } });
  assert.deepEqual(
    issues.map((i) => [i.path, i.message]),
    [
      ['transport.timeout', '"***" is not a duration; use e.g. 250ms, 30s, 5m, 1h or a number of seconds'],
      ['execution.workers', 'must be "auto" or a whole number of at least 1, got "***"'],
    ],
  );
});

test('API keys from env or files are secrets wherever they go; their names tell, short or *_url values do not', async () => {
  await tmp.write('x-auth.txt', 'FILETOKEN999-abc\n');
  const c = await loadConfig(
    await tmp.write(
      'keys.yaml',
      MINIMAL_YAML.replace(
        '  url: "https://api.example.com/x/{{ id }}"',
        '  url: "https://api.example.com/x/{{ id }}?api_key=${env:API_KEY}"\n' +
          '  query: { key: "${env:MAPS}", region: "${env:REGION_NAME}" }\n' +
          '  headers: { Ocp-Apim-Subscription-Key: "${env:APIM}", X-Auth: "${file:x-auth.txt}", X-Team: "${env:TEAM}" }',
      ).replace('./rows.csv', '"${env:INPUT_TOKENS_FILE}"') + 'auth:\n  type: oauth2_client_credentials\n  token_url: "${env:AUTH_TOKEN_URL}"\n  client_id: etl\n  client_secret: s3cr3t-value\n',
    ),
    {
      env: {
        API_KEY: 'sk_live_abcdef123456',
        MAPS: 'AIzaSyD-maps-secret',
        REGION_NAME: 'europe-west-1',
        APIM: 'apim0123456789',
        TEAM: 'data-platform-team',
        AUTH_TOKEN_URL: 'https://idp.example.com/token',
        // A source path is not sent anywhere: its name does not make it a secret.
        INPUT_TOKENS_FILE: './tokens-to-score.csv',
      },
    },
  );
  assert.deepEqual(
    [...c.secrets].sort(),
    ['AIzaSyD-maps-secret', 'FILETOKEN999-abc', 'apim0123456789', 's3cr3t-value', 'sk_live_abcdef123456'],
  );
});

test('messages: a secret cut short is still hidden, other env values only where they are the value', async () => {
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJldGwtY2xpZW50Iiwic2NvcGUiOiJyZWFkIn0.c2lnbmF0dXJl';
  const file = await tmp.write(
    'cut.yaml',
    MINIMAL_YAML +
      'auth:\n  type: oauth2_client_credentials\n  token_url: ${env:IDP_CLIENT_SECRET}\n  client_id: etl\n  client_secret: ${env:IDP_CLIENT_SECRET}\n' +
      'execution: { resume: "${env:RES}", workers: "${env:W}" }\n',
  );
  const issues = await issuesOf(file, { env: { IDP_CLIENT_SECRET: jwt, RES: 'maybe', W: '4' } });
  assert.deepEqual(
    issues.map((i) => [i.path, i.message]),
    [
      ['auth.token_url', '"***... is not an http(s) URL'],
      ['execution.resume', 'expected true or false, got "***"'],
    ],
  );
  assert.ok(!issues.some((i) => i.message.includes(jwt.slice(0, 8))));
});

test('a value the schema refuses as text is taken as the number or boolean it reads as', async () => {
  const file = await tmp.write('typed.yaml', MINIMAL_YAML + 'execution: { workers: "${env:W}", resume: "${env:RES}", concurrency: 8 }\nauth: { type: basic, username: "${env:U}", password: "${env:P}" }\n');
  const c = await loadConfig(file, { env: { W: '3', RES: 'false', U: '12345', P: '67890' } });
  assert.equal(c.execution.workers, 3);
  assert.equal(c.execution.resume, false);
  // Where text is what the schema wants, digits stay text.
  assert.deepEqual(c.auth, { type: 'basic', username: '12345', password: '67890' });
});

test('an unreadable ${file:} says why', async () => {
  await mkdir(join(tmp.dir, 'adir'), { recursive: true });
  const locked = await tmp.write('locked.txt', 'x');
  await chmod(locked, 0o000);
  const file = await tmp.write('unread.yaml', MINIMAL_YAML + 'auth: { type: bearer, token: "${file:adir}" }\n');
  const issues = await issuesOf(file, { env: {} });
  assert.deepEqual(issues.map((i) => [i.path, i.message.replace(tmp.dir, '<dir>')]), [['auth.token', 'cannot read ${file:adir}: is a directory (<dir>/adir)']]);
  // Root can read anything, so the permission case is only checked for other users.
  if (process.getuid?.() !== 0) {
    const f2 = await tmp.write('unread2.yaml', MINIMAL_YAML + 'auth: { type: bearer, token: "${file:locked.txt}" }\n');
    const [issue] = await issuesOf(f2, { env: {} });
    assert.match(issue.message, /permission denied/);
  }
});
