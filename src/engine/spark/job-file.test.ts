import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../config/load.js';
import { makeCerts } from '../../transport/test-support.js';
import { buildSparkJob } from './job-file.js';

const SECRET = 'client-secret-never-shipped';
const PASSWORD = 'user-password-never-shipped';

test('the shipped job holds no OAuth2 secret, keeps the driver address, and ships local files under plain names', async (t) => {
  // The files the config names must exist (the loader checks), under any directory.
  const dir = await mkdtemp(join(tmpdir(), 'restlake-job-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'certs'));
  await mkdir(join(dir, 'mw'));
  const certs = makeCerts(); // the loader parses TLS files
  await writeFile(join(dir, 'certs/ca.pem'), await readFile(certs.caCert));
  certs.cleanup();
  await writeFile(join(dir, 'mw/sign.ts'), 'export const sign = () => (ctx, next) => next();\n');
  const config = await loadConfig(
    {
      version: 1,
      name: 'p',
      source: { path: './in.parquet' },
      request: { url: 'https://api.example.com/{{ id }}' },
      auth: { type: 'oauth2_password', token_url: 'https://idp/token', client_id: 'c', client_secret: SECRET, username: 'u', password: PASSWORD },
      transport: { tls: { ca_file: './certs/ca.pem' } },
      middleware: [{ type: 'timing' }, { type: 'module', path: './mw/sign.ts', export: 'sign' }],
      sink: { path: './out' },
      execution: { engine: 'spark', spark: { master: 'local[2]' } },
    },
    { baseDir: dir, env: {} },
  );
  const { job, files } = buildSparkJob(config, 'run-9', { url: 'http://10.0.0.5:4711', secret: 'per-run' });
  const text = JSON.stringify(job);
  assert.ok(!text.includes(SECRET) && !text.includes(PASSWORD), 'no OAuth2 credential in the job');
  assert.equal(job.run_id, 'run-9');
  assert.deepEqual(job.driver, { url: 'http://10.0.0.5:4711', secret: 'per-run' });
  assert.equal(job.config.base_dir, '.');
  const mod = job.config.middleware[1];
  assert.ok(mod?.type === 'module');
  // Module middleware is bundled into one .mjs file next to the worker.
  assert.match(mod.path, /^\.\/restlake-module-\d+-sign\.mjs$/);
  assert.match(job.config.transport.tls.ca_file ?? '', /^\.\/restlake-ca-\d+-ca\.pem$/);
  assert.deepEqual(
    files.map((f) => [f.source, f.bundle]),
    [
      [join(dir, 'mw/sign.ts'), true],
      [join(dir, 'certs/ca.pem'), false],
    ],
  );
  assert.equal(new Set(files.map((f) => f.name)).size, files.length);
  // The driver's config is untouched.
  assert.equal((config.auth as { client_secret: string }).client_secret, SECRET);
});
