// `restlake report <table> --html out.html`: a self-contained HTML page with the
// charts a data engineer looks at after a run (status codes over time, latency
// histogram, errors by class, rows/s), read from the sink table with DuckDB.
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '../duckdb.js';
import { DeltaTable, isS3Uri } from '../delta/index.js';
import type { Command, CommandIO } from './commands.js';
import { collectReportData } from './report-data.js';
import { renderReportHtml } from './report-html.js';


const USAGE = 'usage: restlake report <table> [--html out.html]   (default: ./restlake-report.html)';
const VIEW = 'restlake_report_rows';

export const reportCommand: Command = {
  name: 'report',
  summary: 'write a self-contained HTML report (status codes over time, latency, errors, rows/s) for a sink table',
  run: (args, io) => runReport(args, io),
};

export async function runReport(args: string[], io: Pick<CommandIO, 'stdout' | 'stderr' | 'cwd'>): Promise<number> {
  let table: string;
  let out: string;
  try {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { html: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
    if (values.help) {
      io.stdout.write(USAGE + '\n');
      return 0;
    }
    if (positionals.length !== 1) throw new Error(positionals.length === 0 ? 'report: missing <table>' : `report: unexpected argument "${positionals[1]}"`);
    const cwd = io.cwd;
    table = isS3Uri(positionals[0]) ? positionals[0] : resolve(cwd, positionals[0]);
    out = resolve(cwd, values.html ?? 'restlake-report.html');
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }

  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const conn = await instance.connect();
  try {
    const delta = await DeltaTable.forPath(table);
    if (!(await delta.exists())) {
      io.stderr.write(`report: no Delta table at ${table}\n`);
      return 3;
    }
    await delta.registerScan(conn, VIEW);
    const data = await collectReportData(conn, VIEW, table);
    await writeFile(out, renderReportHtml(data));
    io.stdout.write(`wrote ${out} (${data.totals.rows} rows, ${data.totals.failed} failed)\n`);
    return 0;
  } catch (err) {
    io.stderr.write(`report: cannot read ${table}: ${String((err as Error).message ?? err).split('\n')[0]}\n`);
    return 3;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
