// Secrets a run must keep out of the sink, the plan and the logs, in the places a
// security review found them: an OAuth2 client secret the config also sends elsewhere,
// secrets an API or a request body holds JSON-escaped, and what user middleware logs
// through runtime.logger.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../config/load.js';
import { runPipeline } from '../index.js';
import { REDACTED } from '../middleware/redact.js';
import { startOAuthServer } from '../testkit/oauth-server.js';
import { queryTable, startTestServer, tempDir } from './e2e-support.js';
import { planRequests } from './plan.js';

type Sunk = { request_headers: string; request_body: string | null; response_body: string };

test('an OAuth2 client secret the config also sends in a header is redacted by the workers: sink headers and echoed body', { timeout: 60_000 }, async () => {
  const tmp = await tempDir();
  const secret = 'cl1ent-S3cret-value';
  const oauth = await startOAuthServer({ clients: [{ id: 'etl', secret, grants: ['client_credentials'] }] });
  // Echoes the gateway header and the bearer token, like an API reflecting its request.
  const api = await startTestServer((req) => ({
    status: 200,
    body: JSON.stringify({ gateway: req.headers['x-client-secret'], auth: req.headers.authorization }),
  }));
  process.env.RESTLAKE_TEST_REUSED_SECRET = secret;
  try {
    const sink = join(tmp.dir, 'sink');
    const s = await runPipeline(
      {
        version: 1,
        name: 'secret_reuse',
        request: { url: `${api.url}/items/{{ id }}`, headers: { 'X-Client-Id': 'etl', 'X-Client-Secret': '${env:RESTLAKE_TEST_REUSED_SECRET}' } },
        auth: { type: 'oauth2_client_credentials', token_url: oauth.tokenUrl, client_id: 'etl', client_secret: '${env:RESTLAKE_TEST_REUSED_SECRET}' },
        sink: { path: sink },
        execution: { workers: 1, concurrency: 1 },
      },
      { rows: [{ id: 1 }] },
    );
    assert.equal(s.succeeded, 1);
    assert.equal(api.seen[0]?.headers['x-client-secret'], secret, 'the API got the real value');
    const [row] = await queryTable<Sunk>(sink, 'SELECT request_headers, response_body FROM t');
    assert.equal(row?.request_headers, `{"x-client-id":"etl","x-client-secret":"${REDACTED}","authorization":"${REDACTED}"}`);
    assert.equal(row?.response_body, `{"gateway":"${REDACTED}","auth":"Bearer ${REDACTED}"}`);
  } finally {
    delete process.env.RESTLAKE_TEST_REUSED_SECRET;
    await api.close();
    await oauth.close();
    await tmp.cleanup();
  }
});

test('secrets in JSON-escaped form are redacted: the request body, a PHP-style echo (\\/), twice-escaped, and the plan', { timeout: 60_000 }, async () => {
  const tmp = await tempDir();
  const apiKey = 'k3y"with\\quote';
  const token = 'tQ9/xk2+Lw8/Zr0=';
  // PHP's json_encode: "/" written as "\/"; the body it got, as a JSON string.
  const api = await startTestServer((req) => ({
    status: 200,
    body: JSON.stringify({ auth: req.headers.authorization, body: req.body }).replace(/\//g, '\\/'),
  }));
  process.env.RESTLAKE_TEST_API_KEY = apiKey;
  process.env.RESTLAKE_TEST_API_TOKEN = token;
  try {
    const sink = join(tmp.dir, 'sink');
    const config = {
      version: 1,
      name: 'json_escaped',
      request: { method: 'POST', url: `${api.url}/items/{{ id }}`, body: { json: { id: '{{ id }}', api_key: '${env:RESTLAKE_TEST_API_KEY}' } } },
      auth: { type: 'bearer', token: '${env:RESTLAKE_TEST_API_TOKEN}' },
      sink: { path: sink },
      execution: { workers: 1, concurrency: 1 },
    };
    const s = await runPipeline(config, { rows: [{ id: 1 }] });
    assert.equal(s.succeeded, 1);
    assert.equal(api.seen[0]?.body, JSON.stringify({ id: 1, api_key: apiKey }), 'the API got the real value');
    const [row] = await queryTable<Sunk>(sink, 'SELECT request_body, response_body FROM t');
    assert.equal(row?.request_body, `{"id":1,"api_key":"${REDACTED}"}`);
    assert.equal(row?.response_body, `{"auth":"Bearer ${REDACTED}","body":"{\\"id\\":1,\\"api_key\\":\\"${REDACTED}\\"}"}`);

    const [planned] = await planRequests(await loadConfig(config, { allowNoSource: true }), 1, [{ id: 1 }]);
    assert.equal(planned?.body, `{"id":1,"api_key":"${REDACTED}"}`);
  } finally {
    delete process.env.RESTLAKE_TEST_API_KEY;
    delete process.env.RESTLAKE_TEST_API_TOKEN;
    await api.close();
    await tmp.cleanup();
  }
});

// docs/middleware.md: "use runtime.logger, which redacts runtime.secrets and the usual headers".
const AUDIT = `export function audit(options, runtime) {
  return async (ex, next) => {
    await next();
    runtime.logger.warn({ request_id: ex.requestId, request_headers: ex.request.headers, options, note: 'sent ' + ex.request.headers.authorization }, 'audit');
  };
}
`;

test('runtime.logger in a worker redacts the live OAuth2 access token, sensitive headers and option secrets (the driver log)', { timeout: 60_000 }, async () => {
  const tmp = await tempDir();
  const oauth = await startOAuthServer({ clients: [{ id: 'etl', secret: 'cl1ent-S3cret-value', grants: ['client_credentials'] }] });
  const api = await startTestServer(() => ({ status: 200, body: '{}' }));
  try {
    const module = join(tmp.dir, 'audit.mjs');
    await writeFile(module, AUDIT);
    const logged: string[] = [];
    const s = await runPipeline(
      {
        version: 1,
        name: 'logger_redaction',
        request: { url: `${api.url}/items/{{ id }}`, headers: { Cookie: 'session=abc123', 'X-Api-Key': 'plain-key' } },
        auth: { type: 'oauth2_client_credentials', token_url: oauth.tokenUrl, client_id: 'etl', client_secret: 'cl1ent-S3cret-value' },
        middleware: [{ type: 'module', path: module, export: 'audit', options: { signing_secret: 's1gning-secret-value' } }],
        sink: { path: join(tmp.dir, 'sink') },
        execution: { workers: 1, concurrency: 1 },
      },
      { rows: [{ id: 1 }], log: (level, message) => logged.push(`${level}: ${message}`) },
    );
    assert.equal(s.succeeded, 1);
    const [token] = oauth.issuedTokens();
    assert.ok(token && api.seen[0]?.headers.authorization === `Bearer ${token}`);
    const audit = logged.filter((l) => l.includes(' audit '));
    assert.equal(audit.length, 1, logged.join('\n'));
    assert.match(
      audit[0]!,
      new RegExp(
        '^warn: worker 0: audit request_id=[0-9a-f]{64} ' +
          'request_headers=\\{"cookie":"\\[REDACTED\\]","x-api-key":"\\[REDACTED\\]","authorization":"\\[REDACTED\\]"\\} ' +
          'options=\\{"signing_secret":"\\[REDACTED\\]"\\} note=sent Bearer \\[REDACTED\\]$',
      ),
    );
  } finally {
    await api.close();
    await oauth.close();
    await tmp.cleanup();
  }
});
