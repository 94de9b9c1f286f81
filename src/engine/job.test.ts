import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../config/load.js';
import { buildJob, driverOnlySecrets, workerConfig } from './job.js';

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
