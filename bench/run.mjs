#!/usr/bin/env node
// restlake's side-by-side benchmark. One invocation starts nginx (never the bottleneck),
// then, per scenario, runs the contenders alternately (the order rotates each round so
// drift on a shared machine hits everyone alike) and reports medians and ratios:
//   restlake  end to end: source → HTTP → Delta sink (the CLI, as a user runs it)
//   bare      the least undici code sending the same requests, same processes/connections, no sink
//   aiohttp   the Python/Spark framework's per-partition asyncio + aiohttp approach
//   naive     fetch behind a concurrency limit, JSON lines out
//   wrk       the ceiling of server + loopback at the same connection count
//
// usage: npm run bench -- [--scenario cpu,latency,extract,memory] [--contenders bare,wrk] [--reps 3] [--scale 1] [--smoke] [--json out.json]
// --smoke: tiny sizes, one round, nothing written into bench/ (CI runs it through bench/run.test.mjs).
import { mkdtempSync, writeFileSync, rmSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir, cpus, totalmem, availableParallelism } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { startNginx } from './nginx.mjs';
import { measure, median } from './util.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const args = parseArgs(process.argv.slice(2));
const smoke = args.smoke === true;
const reps = Number(args.reps ?? (smoke ? 1 : 3));
const scale = Number(args.scale ?? (smoke ? 0.01 : 1));
const procs = Number(args.processes ?? availableParallelism());
const scenarioNames = String(args.scenario ?? (smoke ? 'cpu,latency,extract' : 'cpu,latency,extract')).split(',');
const venvPython = join(repo, '.tools/bench-venv/bin/python');

const SCENARIOS = {
  // CPU-bound: tiny replies from a fast server; the client's CPU is the limit.
  cpu: { path: '/fast/', rows: 200_000, connections: 64, concurrency: 64, contenders: ['restlake', 'bare', 'aiohttp', 'naive', 'wrk'] },
  // Latency-bound: 50 ms per reply at 1,000 in flight (all processes together).
  latency: { path: '/slow/', rows: 100_000, connections: Math.ceil(1000 / procs), concurrency: Math.ceil(1000 / procs), contenders: ['restlake', 'bare', 'aiohttp', 'naive', 'wrk'], latencyMs: 50 },
  // 10 KB replies with typed columns extracted from the JSON.
  extract: { path: '/big/', rows: 50_000, connections: 64, concurrency: 64, contenders: ['restlake', 'bare', 'aiohttp', 'naive'], extract: true },
  // Memory: peak RSS of restlake at 1M and 10M rows (flat memory means the two are close).
  // Peak memory, not speed: one round is enough (10M rows take minutes).
  memory: { path: '/fast/', rows: 1_000_000, connections: 64, concurrency: 64, contenders: ['restlake'], sizes: [1_000_000, 10_000_000], reps: 1 },
};

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const [k, v] = a.slice(2).split('=');
    if (v !== undefined) out[k] = v;
    else if (argv[i + 1] && !argv[i + 1].startsWith('--')) out[k] = argv[++i];
    else out[k] = true;
  }
  return out;
}

async function makeSource(dir, rows) {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const file = join(dir, `source-${rows}.parquet`);
  await conn.run(`COPY (SELECT i AS id, 'eu' AS region FROM range(${rows}) t(i)) TO '${file}' (FORMAT parquet)`);
  conn.closeSync?.();
  return file;
}

function restlakeConfig(sc, origin, source, sinkDir, rows) {
  const cfg = {
    version: 1,
    name: 'bench',
    source: { path: source, format: 'parquet', key: ['id'] },
    request: { method: 'GET', url: `${origin}${sc.path}{{ id }}`, query: { region: '{{ region }}' } },
    transport: { connections: sc.connections, timeout: '60s' },
    sink: { path: sinkDir, mode: 'overwrite', source_columns: ['id'] },
    execution: { engine: 'local', workers: procs, concurrency: sc.concurrency, resume: false, commit_rows: Math.max(50_000, Math.ceil(rows / 4)) },
  };
  if (sc.extract) cfg.response = { extract: { score: { path: '$.score', type: 'double' }, first_name: { path: '$.data.items[0].name', type: 'string' } } };
  return cfg;
}

async function runContender(name, sc, ctx, rows) {
  const { origin, dir } = ctx;
  const total = sc.concurrency * procs;
  switch (name) {
    case 'restlake': {
      const sink = join(dir, `sink-${Date.now()}`);
      const cfgFile = join(dir, 'restlake.json');
      writeFileSync(cfgFile, JSON.stringify(restlakeConfig(sc, origin, ctx.sources.get(rows), sink, rows)));
      const m = await measure(process.execPath, [join(repo, 'bin/restlake.mjs'), 'run', cfgFile, '--quiet', '--json'], { cwd: dir });
      checkRestlake(m.stdout, rows);
      rmSync(sink, { recursive: true, force: true });
      return m;
    }
    case 'bare':
      return measure(process.execPath, [join(here, 'contenders/bare.mjs'), origin, sc.path, rows, procs, sc.connections, sc.concurrency]);
    case 'aiohttp': {
      const out = mkdtempSync(join(dir, 'aio-'));
      const m = await measure(venvPython, [join(here, 'contenders/aiohttp_partition.py'), origin, sc.path, rows, procs, sc.connections, sc.concurrency, out, ...(sc.extract ? ['extract'] : [])]);
      rmSync(out, { recursive: true, force: true });
      return m;
    }
    case 'naive': {
      const out = join(dir, 'naive.jsonl');
      const m = await measure(process.execPath, [join(here, 'contenders/naive.mjs'), origin, sc.path, rows, total, out, ...(sc.extract ? ['extract'] : [])]);
      rmSync(out, { force: true });
      return m;
    }
    case 'wrk': {
      const seconds = smoke ? 1 : 5;
      const m = await measure('wrk', ['-t', String(procs), '-c', String(sc.connections * procs), '-d', `${seconds}s`, `${origin}${sc.path}1?region=eu`]);
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(m.stdout)?.[1]);
      if (!Number.isFinite(rps)) throw new Error(`could not read wrk output:\n${m.stdout}`);
      return { ...m, rowsPerSecond: rps };
    }
    default:
      throw new Error(`unknown contender ${name}`);
  }
}

function checkRestlake(stdout, rows) {
  const line = stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  if (!line) throw new Error(`restlake printed no JSON summary:\n${stdout.slice(-2000)}`);
  const s = JSON.parse(line);
  const ok = s.ok ?? s.successes ?? s.succeeded;
  if (s.rows !== rows || ok !== rows) throw new Error(`restlake summary says rows=${s.rows} ok=${ok}, expected ${rows}`);
}

function fmt(n, digits = 0) {
  return Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a';
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'restlake-bench-'));
  const nginx = await startNginx({ workers: Number(args['nginx-workers'] ?? 1) });
  const report = { machine: machine(), started: new Date().toISOString(), reps, scale, processes: procs, scenarios: {} };
  try {
    for (const scName of scenarioNames) {
      const sc = SCENARIOS[scName];
      if (!sc) throw new Error(`unknown scenario ${scName}; known: ${Object.keys(SCENARIOS).join(', ')}`);
      if (args.contenders) sc.contenders = sc.contenders.filter((c) => String(args.contenders).split(',').includes(c));
      const sizes = (sc.sizes ?? [sc.rows]).map((r) => Math.max(100, Math.round(r * scale)));
      const ctx = { origin: nginx.url, dir, sources: new Map() };
      for (const rows of sizes) ctx.sources.set(rows, await makeSource(dir, rows));
      const result = (report.scenarios[scName] = { path: sc.path, sizes, connectionsPerProcess: sc.connections, concurrencyPerProcess: sc.concurrency, contenders: {} });
      for (const rows of sizes) {
        const runs = Object.fromEntries(sc.contenders.map((c) => [c, []]));
        const scReps = Math.min(reps, sc.reps ?? reps);
        for (let rep = 0; rep < scReps; rep++) {
          const order = sc.contenders.map((_, i) => sc.contenders[(i + rep) % sc.contenders.length]);
          for (const c of order) {
            process.stderr.write(`[bench] ${scName} rows=${rows} rep=${rep + 1}/${scReps} ${c} … `);
            const m = await runContender(c, sc, ctx, rows);
            const rps = m.rowsPerSecond ?? rows / m.seconds;
            runs[c].push({ seconds: m.seconds, rowsPerSecond: rps, cpuSecondsPer1k: c === 'wrk' ? null : (m.cpuSeconds / rows) * 1000, peakRssMB: m.peakRssBytes / 2 ** 20 });
            process.stderr.write(`${fmt(rps)} rows/s\n`);
          }
        }
        for (const [c, rs] of Object.entries(runs)) {
          const key = sizes.length > 1 ? `${c}@${rows}` : c;
          result.contenders[key] = {
            rows,
            runs: rs,
            rowsPerSecond: median(rs.map((r) => r.rowsPerSecond)),
            cpuSecondsPer1k: c === 'wrk' ? null : median(rs.map((r) => r.cpuSecondsPer1k)),
            peakRssMB: median(rs.map((r) => r.peakRssMB)),
          };
        }
      }
      if (sc.latencyMs) {
        const ideal = (sc.concurrency * procs) / (sc.latencyMs / 1000);
        result.idealRowsPerSecond = ideal;
        for (const v of Object.values(result.contenders)) v.efficiency = v.rowsPerSecond / ideal;
      }
    }
  } finally {
    await nginx.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const md = toMarkdown(report);
  process.stdout.write(md + '\n');
  if (typeof args.json === 'string') writeFileSync(args.json, JSON.stringify(report, null, 2));
  if (!smoke) {
    mkdirSync(join(here, 'results'), { recursive: true });
    writeFileSync(join(here, 'results', `bench-${report.started.replace(/[:.]/g, '-')}.json`), JSON.stringify(report, null, 2));
    writeFileSync(join(here, 'RESULTS.md'), md + '\n');
  }
}

function toMarkdown(report) {
  const m = report.machine;
  const lines = [
    '# restlake benchmark results',
    '',
    `Measured ${report.started} with \`npm run bench\` (${report.reps} alternating rounds, medians; scale ${report.scale}).`,
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB; Node ${m.node}; ${m.nginx}; ${report.processes} processes per contender.`,
    '',
  ];
  for (const [name, r] of Object.entries(report.scenarios)) {
    lines.push(`## ${name}: ${r.path} (rows ${r.sizes.join(', ')}; per process ${r.connectionsPerProcess} connections, ${r.concurrencyPerProcess} in flight)`, '');
    const hasEff = r.idealRowsPerSecond !== undefined;
    lines.push(`| contender | rows/s | CPU s / 1k rows | peak RSS MB${hasEff ? ' | efficiency' : ''} |`, `|---|---:|---:|---:${hasEff ? '|---:' : ''}|`);
    for (const [c, v] of Object.entries(r.contenders)) {
      lines.push(`| ${c} | ${fmt(v.rowsPerSecond)} | ${v.cpuSecondsPer1k === null ? '—' : fmt(v.cpuSecondsPer1k, 3)} | ${c.startsWith('wrk') ? '—' : fmt(v.peakRssMB)}${hasEff ? ` | ${fmt(v.efficiency, 2)}` : ''} |`);
    }
    const rl = r.contenders.restlake;
    if (rl) {
      const ratios = [];
      for (const other of ['bare', 'aiohttp', 'naive', 'wrk']) {
        const o = r.contenders[other];
        if (o) ratios.push(`restlake/${other} rows/s = **${fmt(rl.rowsPerSecond / o.rowsPerSecond, 2)}**`);
      }
      if (r.contenders.bare) ratios.push(`CPU per row restlake/bare = **${fmt(rl.cpuSecondsPer1k / r.contenders.bare.cpuSecondsPer1k, 2)}**`);
      lines.push('', ratios.join('; '));
    }
    const sizes = Object.keys(r.contenders).filter((k) => k.startsWith('restlake@'));
    if (sizes.length === 2) {
      const [a, b] = sizes.map((k) => r.contenders[k]);
      lines.push('', `Peak RSS ${fmt(b.rows)} rows ÷ ${fmt(a.rows)} rows = **${fmt(b.peakRssMB / a.peakRssMB, 2)}**`);
    }
    lines.push('');
  }
  lines.push(...targetsTable(report));
  return lines.join('\n');
}

/** Issue 7's targets, each with what this run measured (— when its scenario did not run). */
function targetsTable(report) {
  const sc = report.scenarios;
  const c = (name, who) => sc[name]?.contenders?.[who];
  const ratio = (name, a, b, key = 'rowsPerSecond') => (c(name, a) && c(name, b) ? c(name, a)[key] / c(name, b)[key] : null);
  const small = c('memory', `restlake@${sc.memory?.sizes?.[0]}`);
  const big = c('memory', `restlake@${sc.memory?.sizes?.[1]}`);
  const rows = [
    ['CPU-bound: restlake/bare rows/s', '≥ 0.85', ratio('cpu', 'restlake', 'bare'), (v) => v >= 0.85],
    ['CPU-bound: restlake/aiohttp rows/s', '≥ 5', ratio('cpu', 'restlake', 'aiohttp'), (v) => v >= 5],
    ['CPU-bound: restlake/naive rows/s', '≥ 2', ratio('cpu', 'restlake', 'naive'), (v) => v >= 2],
    ['Latency-bound: efficiency', '≥ 0.9', c('latency', 'restlake')?.efficiency ?? null, (v) => v >= 0.9],
    [big ? `Memory: peak RSS ${fmt(big.rows)} ÷ ${fmt(small.rows)} rows` : 'Memory: peak RSS 10M ÷ 1M rows', '≤ 1.2', small && big ? big.peakRssMB / small.peakRssMB : null, (v) => v <= 1.2],
    [big ? `Memory: peak RSS at ${fmt(big.rows)} rows, MB` : 'Memory: peak RSS at 10M rows, MB', '≤ 500', big ? big.peakRssMB : null, (v) => v <= 500, 0],
    ['Overhead: CPU per row restlake/bare (CPU-bound)', '≤ 1.3', ratio('cpu', 'restlake', 'bare', 'cpuSecondsPer1k'), (v) => v <= 1.3],
  ];
  const out = ['## Targets (issue 7)', '', '| target | wanted | measured | met |', '|---|---|---:|---|'];
  for (const [what, wanted, v, ok, digits = 2] of rows) {
    out.push(`| ${what} | ${wanted} | ${v === null ? '—' : fmt(v, digits)} | ${v === null ? 'not run' : ok(v) ? 'yes' : '**no**'} |`);
  }
  out.push('');
  return out;
}

function machine() {
  let nginx = 'nginx';
  try { nginx = execFileSync('nginx', ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) || nginx; } catch (e) { nginx = String(e.stderr ?? nginx).trim(); }
  try { nginx = execFileSync('sh', ['-c', 'nginx -v 2>&1'], { encoding: 'utf8' }).trim().replace('nginx version: ', ''); } catch { /* keep */ }
  return { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version, nginx };
}

main().catch((e) => {
  console.error(`bench failed: ${e.message}`);
  process.exit(1);
});
