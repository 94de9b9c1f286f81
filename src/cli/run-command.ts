// `restlake run <config> [--set k=v]... [--quiet] [--json]`
import { runConfig } from '../engine/run.js';
import type { RunSummary } from '../engine/summary.js';
import { parse } from './args.js';
import type { Command, CommandIO } from './commands.js';
import { configPath, loadFromArgs, setValues } from './config-args.js';
import { formatSummary } from './format.js';
import { ProgressPrinter } from './progress.js';

const USAGE = 'usage: restlake run <config> [--set key=value]... [--quiet] [--json]';

export function exitCodeOf(s: RunSummary, failOnFailedRows: boolean): number {
  if (s.outcome === 'interrupted') return 130;
  if (failOnFailedRows && s.failed > 0) return 1;
  return 0;
}

async function run(args: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parse(args, { set: { type: 'string', multiple: true }, quiet: { type: 'boolean' }, json: { type: 'boolean' } }, USAGE);
  const path = configPath(positionals, io, USAGE);
  const config = await loadFromArgs(path, setValues(values.set));
  const quiet = values.quiet === true;
  const json = values.json === true;
  const progress = quiet ? null : new ProgressPrinter(io);
  const debug = io.env.RESTLAKE_DEBUG === '1';

  // First Ctrl-C/SIGTERM/SIGHUP (the terminal or ssh session went away): stop reading,
  // let in-flight rows finish, commit, exit 130. A second one quits at once; uncommitted
  // rows are simply sent again next run.
  const abort = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (sig === 'SIGHUP') {
      // The terminal is gone: writing to it fails (EIO), which must not end the run.
      process.stdout.on('error', () => {});
      process.stderr.on('error', () => {});
    }
    if (signals === 1) {
      progress?.clear();
      io.stderr.write(`restlake: ${sig}: finishing in-flight requests and committing (again to quit now)\n`);
      abort.abort();
    } else {
      io.stderr.write('restlake: quitting now; uncommitted results will be sent again on the next run\n');
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  try {
    const summary = await runConfig(config, {
      signal: abort.signal,
      onProgress: progress ? (p) => progress.update(p) : undefined,
      log: (level, message) => {
        if (level === 'debug' && !debug) return;
        if (quiet && level === 'info') return;
        progress?.clear();
        io.stderr.write(`restlake: ${level === 'warn' || level === 'error' ? level + ': ' : ''}${message}\n`);
      },
    });
    progress?.clear();
    if (json) io.stdout.write(JSON.stringify(summary) + '\n');
    else if (!quiet) io.stdout.write(formatSummary(summary) + '\n');
    return exitCodeOf(summary, config.execution.fail_on_failed_rows);
  } finally {
    progress?.clear();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
}

export const runCommand: Command = { name: 'run', summary: 'run a pipeline', run };
