// `restlake table <history|compact|vacuum|checkpoint> <path>`: maintenance of a Delta
// table (a sink, or any table restlake can write). Compaction rewrites small files
// into large ones with dataChange=false, so streaming readers see no new data;
// vacuum follows the protocol's retention rules (below the table's retention, 168h
// by default, only with --force).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '../duckdb.js';
import { parseDuration } from '../config/units.js';
import { DeltaTable, isS3Uri } from '../delta/index.js';
import { RestlakeError } from '../errors.js';
import type { Command, CommandIO } from './commands.js';

const USAGE = `usage:
  restlake table history <table> [--limit N]
  restlake table compact <table> [--target-rows N] [--min-files N]
  restlake table vacuum <table> [--retain 168h] [--dry-run] [--force]
  restlake table checkpoint <table>`;

class UsageError extends Error {}

export const tableCommand: Command = {
  name: 'table',
  summary: 'Delta table maintenance (history, compact, vacuum, checkpoint)',
  run: (args, io) => runTable(args, io),
};

export async function runTable(args: string[], io: Pick<CommandIO, 'stdout' | 'stderr' | 'cwd'>): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args, io.cwd);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr.write(`table: ${e.message}\n${USAGE}\n`);
    return 2;
  }
  if (parsed === 'help') {
    io.stdout.write(USAGE + '\n');
    return 0;
  }
  const { sub, path, values } = parsed;
  const table = DeltaTable.forPath(path);
  try {
    if (!(await table.exists())) {
      io.stderr.write(`table: no Delta table at ${path}\n`);
      return 3;
    }
    switch (sub) {
      case 'history':
        return await history(table, Number(values.limit ?? 20), io);
      case 'checkpoint': {
        const v = await table.latestVersion();
        await table.checkpoint();
        io.stdout.write(`checkpoint written at version ${v}\n`);
        return 0;
      }
      case 'vacuum': {
        const retain = parseDuration(values.retain ?? '168h');
        if (!retain.ok) throw new UsageError(`--retain: ${retain.message}`);
        const { deleted } = await table.vacuum({ retentionHours: retain.value / 3_600_000, dryRun: values['dry-run'] === true, force: values.force === true });
        const verb = values['dry-run'] ? 'would delete' : 'deleted';
        io.stdout.write(`${verb} ${deleted.length} file${deleted.length === 1 ? '' : 's'}\n`);
        for (const f of deleted) io.stdout.write(`  ${f}\n`);
        return 0;
      }
      case 'compact': {
        const duck = await DuckDBInstance.create(':memory:');
        const conn = await duck.connect();
        try {
          const r = await table.compact(conn, { targetFileRows: optionalInt(values['target-rows'], '--target-rows'), minFiles: optionalInt(values['min-files'], '--min-files') });
          io.stdout.write(r.version === null ? 'nothing to compact\n' : `compacted ${r.removed} files into ${r.added} at version ${r.version}\n`);
          return 0;
        } finally {
          conn.closeSync();
          duck.closeSync();
        }
      }
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`table: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    // A refused vacuum retention is the user's argument, not a broken table.
    if (e instanceof RestlakeError && e.code === 'DELTA_INVALID_ARGUMENT') {
      io.stderr.write(`table ${sub}: ${e.message}\n`);
      return 2;
    }
    io.stderr.write(`table ${sub}: ${String((e as Error).message ?? e).split('\n')[0]}\n`);
    return 3;
  }
}

function parse(args: string[], cwd: string) {
  let r;
  try {
    r = parseArgs({
      args,
      allowPositionals: true,
      options: {
        limit: { type: 'string' },
        'target-rows': { type: 'string' },
        'min-files': { type: 'string' },
        retain: { type: 'string' },
        'dry-run': { type: 'boolean' },
        force: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (r.values.help) return 'help' as const;
  const [sub, path, extra] = r.positionals;
  if (!sub) throw new UsageError('missing subcommand');
  if (!['history', 'compact', 'vacuum', 'checkpoint'].includes(sub)) throw new UsageError(`unknown subcommand "${sub}"`);
  if (!path) throw new UsageError(`${sub}: missing <table>`);
  if (extra) throw new UsageError(`unexpected argument "${extra}"`);
  return { sub: sub as 'history' | 'compact' | 'vacuum' | 'checkpoint', path: isS3Uri(path) ? path : resolve(cwd, path), values: r.values };
}

function optionalInt(v: string | boolean | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive whole number, got "${v}"`);
  return n;
}

async function history(table: DeltaTable, limit: number, io: Pick<CommandIO, 'stdout'>): Promise<number> {
  const latest = (await table.latestVersion())!;
  const rows: string[] = [];
  for (let v = latest; v >= 0 && rows.length < limit; v--) {
    const buf = await table.storage.read(`_delta_log/${String(v).padStart(20, '0')}.json`);
    if (!buf) break; // older commits were cleaned up; the checkpoint holds their state
    let info: Record<string, unknown> = {};
    let adds = 0;
    let removes = 0;
    for (const line of buf.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      const action = JSON.parse(line) as Record<string, Record<string, unknown>>;
      if (action.commitInfo) info = action.commitInfo;
      if (action.add) adds++;
      if (action.remove) removes++;
    }
    const when = typeof info.timestamp === 'number' ? new Date(info.timestamp).toISOString() : '?';
    rows.push(`${String(v).padStart(6)}  ${when}  ${String(info.operation ?? '?').padEnd(10)}  +${adds} -${removes} files  ${String(info.engineInfo ?? '')}`);
  }
  io.stdout.write(`version  timestamp                 operation   files  engine\n${rows.join('\n')}\n`);
  return 0;
}
