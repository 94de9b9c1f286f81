// `restlake inspect <table> [--sql "..."] [--json]`: what landed in a sink table.
import { resolve } from 'node:path';
import { DuckDBInstance } from '../duckdb.js';
import { RunError } from '../errors.js';
import { registerResults, RESULTS_VIEW, summariseTable, type TableSummary } from '../sink/inspect.js';
import { parse, UsageError } from './args.js';
import type { Command, CommandIO } from './commands.js';
import { int, ms } from './format.js';

const USAGE = `usage: restlake inspect <table> [--sql "SELECT … FROM ${RESULTS_VIEW}"] [--json]`;

/** Plain aligned text columns. */
export function textTable(rows: Record<string, unknown>[], columns?: string[]): string {
  if (rows.length === 0) return '  (none)';
  const cols = columns ?? Object.keys(rows[0] as object);
  const cell = (v: unknown): string => (v === null || v === undefined ? 'null' : typeof v === 'object' ? JSON.stringify(v) : String(v)).replace(/\s+/g, ' ');
  const body = rows.map((r) => cols.map((c) => cell(r[c])));
  const widths = cols.map((c, i) => Math.min(80, Math.max(c.length, ...body.map((b) => (b[i] as string).length))));
  const fmt = (cells: string[]): string => '  ' + cells.map((s, i) => (s.length > 80 ? s.slice(0, 79) + '…' : s).padEnd(widths[i] as number)).join('  ').trimEnd();
  return [fmt(cols), fmt(widths.map((w) => '-'.repeat(w))), ...body.map(fmt)].join('\n');
}

export function formatTableSummary(path: string, s: TableSummary): string {
  const lat = s.latency_ms;
  const p = (x: number | null): string => (x === null ? '-' : ms(x));
  return [
    `${path}${s.version !== null ? `  (version ${s.version})` : ''}`,
    `  rows ${int(s.rows)}, request_ids ${int(s.request_ids)}, succeeded ${int(s.succeeded_ids)}, never succeeded ${int(s.request_ids - s.succeeded_ids)}`,
    `  latency p50 ${p(lat.p50)}  p95 ${p(lat.p95)}  p99 ${p(lat.p99)}  max ${p(lat.max)}`,
    '',
    'by status',
    textTable(s.by_status),
    '',
    'by error class',
    textTable(s.by_error_class),
    '',
    'runs (latest first)',
    textTable(s.runs),
    '',
    'throughput by minute (latest first)',
    textTable(s.throughput),
    '',
    'recent failures',
    textTable(s.recent_failures),
  ].join('\n');
}

async function run(args: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parse(args, { sql: { type: 'string' }, json: { type: 'boolean' } }, USAGE);
  if (positionals.length !== 1) throw new UsageError(`${positionals.length === 0 ? 'missing <table>' : 'too many arguments'}\n${USAGE}`);
  const arg = positionals[0] as string;
  const path = /^[a-z][a-z0-9+.-]*:\/\//i.test(arg) ? arg : resolve(io.cwd, arg);
  const duck = await DuckDBInstance.create(':memory:');
  const conn = await duck.connect();
  try {
    try {
      await conn.run(`SET TimeZone = 'UTC'`);
    } catch {
      // no ICU: UTC already
    }
    const table = await registerResults(conn, path);
    if (typeof values.sql === 'string') {
      let out: Record<string, unknown>[];
      try {
        out = (await conn.runAndReadAll(values.sql)).getRowObjectsJson() as Record<string, unknown>[];
      } catch (e) {
        throw new RunError('RESTLAKE_SQL', `--sql failed: ${(e as Error).message.split('\n')[0]}`);
      }
      io.stdout.write((values.json === true ? out.map((r) => JSON.stringify(r)).join('\n') : textTable(out)) + '\n');
      return 0;
    }
    const summary = await summariseTable(conn, table);
    io.stdout.write((values.json === true ? JSON.stringify(summary) : formatTableSummary(path, summary)) + '\n');
    return 0;
  } finally {
    conn.closeSync();
    duck.closeSync();
  }
}

export const inspectCommand: Command = { name: 'inspect', summary: 'summarise a sink table', run };
