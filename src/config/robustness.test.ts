// Whatever a user puts at any key, loading ends in a config or a ConfigError whose
// issues read as prose (never zod's generic wording, never internal markers).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { loadConfig } from './load.js';

const BASE = {
  version: 1,
  name: 'robust',
  source: { path: '/nowhere/rows.csv', format: 'csv', key: ['id'], limit: 5 },
  request: {
    method: 'POST',
    url: 'https://api.example.com/{{ id }}',
    query: { q: '{{ q }}' },
    headers: { Accept: 'application/json' },
    body: { json: { id: '{{ id }}' } },
    idempotency_header: 'Idempotency-Key',
    allowed_hosts: ['api.example.com'],
  },
  auth: { type: 'oauth2_password', token_url: 'https://idp/t', client_id: 'c', username: 'u', password: 'p', scope: 'a', refresh_margin: '1m' },
  transport: { timeout: '5s', connections: 2, max_response_bytes: '1MB', tls: { verify: true, ca_file: null } },
  middleware: [
    { type: 'retry', max_attempts: 2, statuses: [503] },
    { type: 'rate_limit', requests_per_second: 5 },
    { type: 'circuit_breaker', window: '5s' },
    { type: 'adaptive_concurrency', min: 1, max: 4 },
    { type: 'headers', set: { 'X-A': 'b' }, remove: ['X-B'] },
    { type: 'module', path: './m.js', options: { a: 1 } },
    'timing',
  ],
  response: { success_status: ['2xx'], extract: { s: { path: '$.s', type: 'double' } } },
  sink: { path: '/nowhere/lake', mode: 'append', source_columns: ['id'], redact_headers: ['X-Secret'] },
  execution: { engine: 'local', workers: 2, concurrency: 8, commit_rows: 100, commit_interval: '1s', resume: true, max_requests: null },
};

// The module BASE names must exist (the loader checks files the run will read).
let baseDir: string;
before(async () => {
  baseDir = await mkdtemp(join(tmpdir(), 'restlake-robust-'));
  await writeFile(join(baseDir, 'm.js'), 'export default () => (ctx, next) => next();\n');
});
after(() => rm(baseDir, { recursive: true, force: true }));

function leaves(v: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(v)) return [path, ...v.flatMap((x, i) => leaves(x, [...path, i]))];
  if (v !== null && typeof v === 'object') return [path, ...Object.entries(v).flatMap(([k, x]) => leaves(x, [...path, k]))];
  return [path];
}

function setAt(root: unknown, path: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let cur = copy;
  for (const seg of path.slice(0, -1)) cur = cur[seg] as Record<string | number, unknown>;
  cur[path[path.length - 1]] = value;
  return copy;
}

test('the base config is valid', async () => {
  await loadConfig(BASE, { env: {}, baseDir });
});

test('any junk at any key gives a config or readable issues, never a crash', async () => {
  const junk: unknown[] = [null, -1, 'x', [], {}, true, 1.5, [{}]];
  let rejected = 0;
  for (const path of leaves(BASE)) {
    if (path.length === 0) continue;
    for (const j of junk) {
      const input = setAt(BASE, path, j) as object;
      try {
        await loadConfig(input, { env: {}, baseDir });
      } catch (e) {
        assert.ok(e instanceof ConfigError, `${path.join('.')} = ${JSON.stringify(j)}: ${String(e)}`);
        rejected++;
        for (const issue of e.issues) {
          const where = `${path.join('.')} = ${JSON.stringify(j)} → ${issue.path}: ${issue.message}`;
          assert.doesNotMatch(issue.message, /^(Invalid|Too small|Too big|Unrecognized|Expected)|\u0001/, where);
          assert.ok(issue.message.length > 5, where);
        }
      }
    }
  }
  assert.ok(rejected > 100, `only ${rejected} rejections: the junk is not reaching the schema`);
});
