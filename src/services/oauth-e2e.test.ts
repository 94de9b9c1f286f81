// End to end (issue 4 "done means"): real pipelines on the local engine, 3 worker
// processes each, for more than 20 s, against a real OAuth2 server whose tokens live
// 5 s and a mock API that checks every token with it (both in a process of their own,
// like the remote services they stand for). Both grants run side by side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '../duckdb.js';
import { runPipeline } from '../index.js';
import { RunError } from '../errors.js';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { OAuthServerOptions, OAuthServerStats } from '../testkit/oauth-server.js';
import type { MockApiStats } from '../testkit/mock-api.js';

const LIFETIME_S = 5;
const RPS = 50;
const ROWS = 1100; // at 50/s over the whole run: at least 22 s
const CC_SECRET = 'cc-Secret-e2e-4f1d:+/';
const PW_CLIENT_SECRET = 'pw-client-Secret-e2e-88';
const PASSWORD = 'user-Passw0rd-e2e-19&%';

interface Platform {
  tokenUrl: string;
  apiUrl: string;
  dir: string;
  logs: string[];
  stats(): Promise<{ oauth: OAuthServerStats; issued: string[]; api: MockApiStats }>;
  close(): Promise<void>;
}

/** The IdP and the API run in their own process (see oauth-e2e-platform.ts). */
async function platform(): Promise<Platform> {
  const options: OAuthServerOptions = {
    clients: [
      { id: 'etl-cc', secret: CC_SECRET, grants: ['client_credentials'] },
      { id: 'etl-pw', secret: PW_CLIENT_SECRET, grants: ['password', 'refresh_token'] },
    ],
    users: [{ username: 'svc-user', password: PASSWORD }],
    accessTokenLifetimeSec: LIFETIME_S,
  };
  const script = fileURLToPath(new URL('./oauth-e2e-platform.js', import.meta.url));
  const child = spawn(process.execPath, [script, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const replies = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => {
    const r = await replies.next();
    if (r.done) throw new Error('the e2e platform process ended');
    return JSON.parse(r.value) as Record<string, unknown>;
  };
  const urls = (await next()) as { tokenUrl: string; api: string };
  const dir = await mkdtemp(join(tmpdir(), 'restlake-oauth-e2e-'));
  return {
    tokenUrl: urls.tokenUrl,
    apiUrl: urls.api,
    dir,
    logs: [],
    stats: async () => {
      child.stdin!.write('stats\n');
      return (await next()) as unknown as Awaited<ReturnType<Platform['stats']>>;
    },
    close: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin!.end();
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function pipeline(p: Platform, name: string, auth: Record<string, unknown>, rows = ROWS) {
  return {
    config: {
      version: 1,
      name,
      request: { url: `${p.apiUrl}/v1/oauth2/score/{{ id }}` },
      auth: { ...auth, token_url: p.tokenUrl, refresh_margin: '2s' },
      middleware: [{ type: 'rate_limit', requests_per_second: RPS, burst: 5 }],
      sink: { path: join(p.dir, name), source_columns: ['id'] },
      execution: { workers: 3, concurrency: 16 },
    },
    opts: {
      rows: Array.from({ length: rows }, (_, i) => ({ id: i })),
      key: ['id'],
      log: (level: string, message: string) => p.logs.push(`${level} ${message}`),
    },
  };
}

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
  }
  return out;
}

/** Every byte of the table's files, plus every value of its rows decoded (Parquet pages may be compressed). */
async function tableText(dir: string): Promise<{ text: string; rows: Record<string, unknown>[] }> {
  let text = '';
  for (const f of await allFiles(dir)) text += (await readFile(f)).toString('latin1') + '\n';
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const r = await conn.runAndReadAll(`SELECT * FROM read_parquet('${dir.replace(/'/g, "''")}/**/*.parquet')`);
    const rows = r.getRowObjectsJson() as Record<string, unknown>[];
    return { text: text + JSON.stringify(rows), rows };
  } finally {
    conn.closeSync();
  }
}

test('both OAuth2 grants, 3 workers each, > 20 s with 5 s tokens: every row succeeds, grants ~ run time / lifetime, no secret or token leaks', { timeout: 180_000 }, async (t) => {
  const p = await platform();
  try {
    const cc = pipeline(p, 'e2e_oauth_cc', { type: 'oauth2_client_credentials', client_id: 'etl-cc', client_secret: CC_SECRET });
    const pw = pipeline(p, 'e2e_oauth_pw', {
      type: 'oauth2_password',
      client_id: 'etl-pw',
      client_secret: PW_CLIENT_SECRET,
      username: 'svc-user',
      password: PASSWORD,
    });
    const [sc, sp] = await Promise.all([runPipeline(cc.config, cc.opts), runPipeline(pw.config, pw.opts)]);

    const stats = await p.stats();
    const grants = stats.oauth.grants;
    for (const [s, got, what] of [
      [sc, grants.client_credentials, 'client_credentials'],
      [sp, grants.password + grants.refresh_token, 'password + refresh_token'],
    ] as const) {
      assert.equal(s.rows, ROWS);
      assert.equal(s.succeeded, ROWS, `${what}: ${JSON.stringify(s.failures_by_class)}`);
      assert.equal(s.failed, 0);
      const seconds = s.elapsed_ms / 1000;
      assert.ok(seconds >= 20, `${what}: the run lasted ${seconds}s`);
      // One shared token refreshed ~every lifetime (3/4 of it: the margin is capped at a quarter): about t / lifetime grants.
      // Tokens per worker would be at least 3 × t / lifetime; the upper bound excludes that.
      const expected = seconds / LIFETIME_S;
      t.diagnostic(`${what}: ${ROWS} rows in ${seconds}s, ${got} grants (run time / lifetime = ${expected.toFixed(1)})`);
      assert.ok(got >= 0.6 * expected && got <= 1.6 * expected + 2, `${what}: ${got} grants in ${seconds}s with ${LIFETIME_S}s tokens`);
      assert.ok(got < 3 * expected, `${what}: grants do not grow with the workers`);
    }
    assert.ok(grants.refresh_token >= 1, 'the password run refreshed with its refresh token');
    assert.ok(grants.password <= 2, `the password run rarely needed the password again: ${grants.password}`);
    const auth = stats.api.byAuth.oauth2;
    t.diagnostic(`API: ${auth.accepted} accepted, ${auth.rejected} 401s; grants ${JSON.stringify(grants)}`);
    assert.equal(auth.accepted, 2 * ROWS);
    // Near zero: on a starved machine a request can still meet the API just after its token
    // expired (and is retried once with the new one). Tokens cached per
    // worker until expiry would cost a burst of ~concurrency 401s per worker per lifetime (> 300).
    assert.ok(auth.rejected <= 0.01 * 2 * ROWS, `401s stay near zero: ${auth.rejected}`);

    // Nothing secret anywhere: sink files (raw and decoded) and the runs' logs.
    const needles = [CC_SECRET, PW_CLIENT_SECRET, PASSWORD, ...stats.issued];
    assert.ok(needles.length > 10);
    for (const name of ['e2e_oauth_cc', 'e2e_oauth_pw']) {
      const { text, rows } = await tableText(join(p.dir, name));
      assert.equal(rows.length, ROWS);
      assert.ok(rows.every((r) => r.success === true && r.status_code === 200));
      assert.ok(String(rows[0].request_headers).includes('authorization'), 'the header is recorded, redacted');
      for (const n of needles) assert.ok(!text.includes(n), `${name}: leaked ${n.slice(0, 4)}…`);
    }
    const logs = p.logs.join('\n');
    for (const n of needles) assert.ok(!logs.includes(n), `logs leaked ${n.slice(0, 4)}…`);
  } finally {
    await p.close();
  }
});

test('wrong client secret, wrong password, unreachable token URL: RunError (exit 3), a clear message, no API request', async () => {
  const p = await platform();
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const deadPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  try {
    const cases = [
      { name: 'bad_secret', auth: { type: 'oauth2_client_credentials', client_id: 'etl-cc', client_secret: 'not-the-secret-1' }, says: /wrong credentials.*client_id or client_secret/ },
      {
        name: 'bad_password',
        auth: { type: 'oauth2_password', client_id: 'etl-pw', client_secret: PW_CLIENT_SECRET, username: 'svc-user', password: 'not-the-password-2' },
        says: /wrong credentials.*wrong username or password/,
      },
      { name: 'dead_idp', auth: { type: 'oauth2_client_credentials', client_id: 'etl-cc', client_secret: CC_SECRET }, says: /token endpoint is unreachable/, dead: true },
    ];
    for (const c of cases) {
      const { config, opts } = pipeline(p, c.name, c.auth, 10);
      if (c.dead) config.auth = { ...config.auth, token_url: `http://127.0.0.1:${deadPort}/token` };
      const err = await runPipeline(config, opts).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof RunError, `${c.name}: ${String(err)}`);
      assert.equal(err.code, 'RESTLAKE_AUTH_FAILED');
      assert.match(err.message, c.says);
      for (const s of [CC_SECRET, PW_CLIENT_SECRET, PASSWORD, 'not-the-secret-1', 'not-the-password-2']) {
        assert.ok(!err.message.includes(s), `${c.name}: the message holds a secret`);
      }
    }
    assert.equal((await p.stats()).api.total, 0, 'no API request was sent');
  } finally {
    await p.close();
  }
});
