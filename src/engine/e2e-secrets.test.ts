// Secrets a run must keep out of the sink, the plan and the logs, in the places a
// security review found them: secrets an API or a request body holds JSON-escaped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadConfig } from '../config/load.js';
import { runPipeline } from '../index.js';
import { REDACTED } from '../middleware/redact.js';
import { queryTable, startTestServer, tempDir } from './e2e-support.js';
import { planRequests } from './plan.js';

type Sunk = { request_body: string | null; response_body: string };

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
