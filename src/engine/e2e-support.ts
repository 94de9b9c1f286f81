// Helpers for the engine's end-to-end tests: a scriptable HTTP server that records
// every request, temp dirs, and reading a sink table back with DuckDB.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '../duckdb.js';
import { DeltaTable } from '../delta/index.js';

export interface SeenRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export type Reply = { status?: number; headers?: Record<string, string>; body?: string; delayMs?: number };

export interface TestServer {
  url: string;
  seen: SeenRequest[];
  /** Requests per path+query (the run's distinct requests). */
  count(): number;
  setHandler(h: (req: SeenRequest) => Reply | Promise<Reply>): void;
  close(): Promise<void>;
}

/** Default reply: a JSON score derived from the path, so extracts are checkable. */
export function scoreReply(req: SeenRequest): Reply {
  const id = /\/items\/([^/?]+)/.exec(req.url)?.[1] ?? '0';
  return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, score: Number(id) * 1.5 || 0, ok: true }) };
}

export async function startTestServer(handler: (req: SeenRequest) => Reply | Promise<Reply> = scoreReply): Promise<TestServer> {
  let h = handler;
  const seen: SeenRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: SeenRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      seen.push(r);
      void Promise.resolve(h(r)).then(
        async (reply) => {
          if (reply.delayMs) await new Promise((x) => setTimeout(x, reply.delayMs));
          res.writeHead(reply.status ?? 200, reply.headers ?? { 'content-type': 'application/json' });
          res.end(reply.body ?? '{}');
        },
        () => {
          res.writeHead(500);
          res.end('handler failed');
        },
      );
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    count: () => seen.length,
    setHandler(next) {
      h = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function tempDir(prefix = 'restlake-e2e-'): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs SQL against the table's live rows, exposed as the view `t`. */
export async function queryTable<T = Record<string, unknown>>(path: string, sql: string): Promise<T[]> {
  const duck = await DuckDBInstance.create(':memory:');
  const conn = await duck.connect();
  try {
    const table = await DeltaTable.forPath(path);
    await table.registerScan(conn, 't');
    return (await conn.runAndReadAll(sql)).getRowObjectsJson() as T[];
  } finally {
    conn.closeSync();
    duck.closeSync();
  }
}

/** Polls until `cond` holds (or fails after `timeoutMs`). */
export async function waitFor(cond: () => boolean, timeoutMs = 30_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const BIN = fileURLToPath(new URL('../../bin/restlake.mjs', import.meta.url));

export interface CliProcess {
  child: ChildProcess;
  /** The exit code; -1 when a signal ended it. */
  done: Promise<number | null>;
  /** Everything written to stderr so far. */
  err(): string;
}

/** The CLI as a user starts it: `node bin/restlake.mjs <args>` in its own process. */
export function startCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  child.stdout!.resume();
  const done = new Promise<number | null>((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  return { child, done, err: () => err };
}
