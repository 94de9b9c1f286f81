#!/usr/bin/env node
// Peak RSS of a whole local run (driver + every worker process) for sources of
// different sizes, to check that memory stays flat as the source grows.
//
//   node scripts/measure-memory.mjs [rows ...]        default: 100000 1000000
//
// Each size: a Parquet source generated with DuckDB, a loopback HTTP server in this
// process (not counted), `restlake run` as a child process, its process tree's RSS
// sampled from /proc every 100 ms. Prints one line per size and the ratio.
import { createServer } from 'node:http';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';

const BIN = fileURLToPath(new URL('../bin/restlake.mjs', import.meta.url));
const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
if (sizes.length === 0) sizes.push(100_000, 1_000_000);

async function makeSource(path, rows) {
  const duck = await DuckDBInstance.create(':memory:');
  const conn = await duck.connect();
  await conn.run(
    `COPY (SELECT range AS id, CASE WHEN range % 2 = 0 THEN 'eu' ELSE 'us' END AS region, round(random() * 1000, 2) AS amount
           FROM range(${rows})) TO '${path}' (FORMAT parquet)`,
  );
  conn.closeSync();
  duck.closeSync();
}

async function rssKb(pid) {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** The pid and all its descendants (workers run in their own process group but stay children). */
async function tree(root) {
  const children = new Map();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(name));
    } catch {
      // gone
    }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]) ?? []));
  return out;
}

async function measure(rows, serverUrl) {
  const dir = await mkdtemp(join(tmpdir(), 'restlake-mem-'));
  try {
    const source = join(dir, 'source.parquet');
    await makeSource(source, rows);
    const cfg = join(dir, 'p.json');
    await writeFile(
      cfg,
      JSON.stringify({
        version: 1,
        name: 'memory',
        source: { path: source, key: ['id'] },
        request: { method: 'POST', url: `${serverUrl}/items/{{ id }}`, body: { json: { id: '{{ id }}', region: '{{ region }}', amount: '{{ amount }}' } } },
        response: { extract: { score: { path: '$.score', type: 'double' } } },
        sink: { path: join(dir, 'sink'), source_columns: ['id', 'region'] },
        execution: { workers: 2, concurrency: 64 },
      }),
    );
    const started = Date.now();
    const child = spawn(process.execPath, [BIN, 'run', cfg, '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    let peak = 0;
    let peakDriver = 0;
    const sample = async () => {
      const pids = await tree(child.pid);
      const each = await Promise.all(pids.map(rssKb));
      const sum = each.reduce((a, b) => a + b, 0);
      peak = Math.max(peak, sum);
      peakDriver = Math.max(peakDriver, each[0] ?? 0);
    };
    const timer = setInterval(() => void sample(), 100);
    const code = await new Promise((resolve) => child.on('close', resolve));
    clearInterval(timer);
    if (code !== 0) throw new Error(`run of ${rows} rows exited ${code}`);
    const summary = JSON.parse(out.trim().split('\n').pop());
    if (summary.rows !== rows) throw new Error(`expected ${rows} rows, got ${summary.rows}`);
    return { rows, peakMb: peak / 1024, driverMb: peakDriver / 1024, seconds: (Date.now() - started) / 1000, rowsPerSecond: summary.rows_per_second };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const id = /\/items\/(\d+)/.exec(req.url ?? '')?.[1] ?? '0';
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(`{"id":${id},"score":${Number(id) * 1.5}}`);
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}`;
const results = [];
try {
  for (const n of sizes) {
    const r = await measure(n, url);
    results.push(r);
    console.log(
      `${r.rows.toLocaleString('en-US').padStart(11)} rows: peak RSS ${r.peakMb.toFixed(0)} MB (driver ${r.driverMb.toFixed(0)} MB), ` +
        `${r.seconds.toFixed(1)} s, ${Math.round(r.rowsPerSecond)} rows/s`,
    );
  }
} finally {
  server.close();
}
if (results.length >= 2) {
  const first = results[0];
  const last = results[results.length - 1];
  console.log(`ratio ${last.rows.toLocaleString('en-US')} / ${first.rows.toLocaleString('en-US')} rows: ${(last.peakMb / first.peakMb).toFixed(2)}x`);
}
