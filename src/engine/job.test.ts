import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../config/load.js';
import { buildJob, driverOnlyEnv, driverOnlySecrets, workerConfig, workerEnv } from './job.js';

const SECRET = 'cl1ent-S3cret-value';
const PASSWORD = 'pa"ss\\w0rd-value';

async function oauthConfig(extra: Record<string, unknown> = {}, env: Record<string, string> = {}) {
  return loadConfig(
    {
      version: 1,
      name: 'job_secrets',
      request: { url: 'http://127.0.0.1:9/items/{{ id }}' },
      auth: {
        type: 'oauth2_password',
        token_url: 'http://127.0.0.1:9/token',
        client_id: 'etl',
        client_secret: '${env:CLIENT_SECRET}',
        username: 'alice',
        password: '${env:USER_PASSWORD}',
      },
      sink: { path: '/tmp/unused' },
      ...extra,
    },
    { allowNoSource: true, env: { CLIENT_SECRET: SECRET, USER_PASSWORD: PASSWORD, ...env } },
  );
}

test('the job leaves out an OAuth2 client secret and password the token service alone uses: not in auth, not in secrets, nowhere', async () => {
  const config = await oauthConfig();
  assert.deepEqual(driverOnlySecrets(config), [SECRET, PASSWORD]);
  const job = buildJob(config, 'r1', { url: 'http://127.0.0.1:1', secret: 's' });
  const text = JSON.stringify(job);
  assert.equal(text.includes(SECRET) || text.includes(JSON.stringify(PASSWORD).slice(1, -1)), false, text);
  assert.deepEqual([job.config.auth.type === 'oauth2_password' && job.config.auth.client_secret, job.config.auth.type === 'oauth2_password' && job.config.auth.password], [null, null]);
});

test('a client secret or password the config also sends elsewhere stays in the workers\' secrets, so their redactor scrubs it', async () => {
  const cases: Array<[string, Record<string, unknown>, string[]]> = [
    ['a header', { request: { url: 'http://127.0.0.1:9/items/{{ id }}', headers: { 'X-Client-Secret': '${env:CLIENT_SECRET}' } } }, [SECRET]],
    ['part of a URL', { request: { url: 'http://127.0.0.1:9/items/{{ id }}?k=${env:USER_PASSWORD}' } }, [PASSWORD]],
    ['a JSON body', { request: { method: 'POST', url: 'http://127.0.0.1:9/x', body: { json: { s: '${env:USER_PASSWORD}', c: '${env:CLIENT_SECRET}' } } } }, [SECRET, PASSWORD]],
  ];
  for (const [where, extra, kept] of cases) {
    const config = await oauthConfig(extra);
    const wc = workerConfig(config);
    assert.deepEqual(
      [SECRET, PASSWORD].filter((s) => wc.secrets.includes(s)),
      kept,
      where,
    );
    assert.deepEqual(driverOnlySecrets(config), [SECRET, PASSWORD].filter((s) => !kept.includes(s)), where);
    assert.equal(wc.auth.type === 'oauth2_password' ? [wc.auth.client_secret, wc.auth.password].join() : 'x', ',', where);
  }
});

test('workers and spark-submit get the environment without the variables that hold a driver-only secret; everything else stays', async () => {
  const env = { CLIENT_SECRET: SECRET, ALSO_THE_SECRET: SECRET, USER_PASSWORD: PASSWORD, PATH: '/usr/bin', SIGNING_KEY: 'k-123456', OTHER: `x${SECRET}` };
  const config = await oauthConfig();
  assert.deepEqual(driverOnlyEnv(config, env), ['CLIENT_SECRET', 'ALSO_THE_SECRET', 'USER_PASSWORD']);
  assert.deepEqual(workerEnv(config, env), { PATH: '/usr/bin', SIGNING_KEY: 'k-123456', OTHER: `x${SECRET}` });
  // Sent in a header anyway (so in the job): the variable stays, the password's goes.
  const reused = await oauthConfig({ request: { url: 'http://127.0.0.1:9/{{ id }}', headers: { 'X-Client-Secret': '${env:CLIENT_SECRET}' } } });
  assert.deepEqual(driverOnlyEnv(reused, env), ['USER_PASSWORD']);
  // Not OAuth2: nothing is held back.
  const basic = await loadConfig(
    { version: 1, name: 'b', request: { url: 'http://127.0.0.1:9/{{ id }}' }, auth: { type: 'basic', username: 'u', password: '${env:CLIENT_SECRET}' }, sink: { path: '/tmp/unused' } },
    { allowNoSource: true, env },
  );
  assert.deepEqual(driverOnlyEnv(basic, env), []);
  assert.deepEqual(workerEnv(basic, env), env);
});
