// restlake's command line: `restlake <command> [args]`. Exit codes (DESIGN §4):
// 0 done; 1 finished with failed rows (only with execution.fail_on_failed_rows);
// 2 bad config or usage; 3 the run could not proceed; 130 interrupted.
import { ConfigError, RestlakeError } from '../errors.js';
import { HelpRequested, UsageError } from './args.js';
import { COMMANDS, CommandUnavailable, findCommand, type CommandIO } from './commands.js';

export const EXIT = { ok: 0, failedRows: 1, usage: 2, cannotRun: 3, interrupted: 130 } as const;

function defaultIO(): CommandIO {
  return { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env };
}

export function helpText(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: restlake <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    `  ${'help'.padEnd(width)}  show this help`,
    '',
    'run <config> [--set key=value]... [--quiet] [--json]',
    'validate <config> [--set key=value]...',
    'plan <config> [--limit N] [--set key=value]... [--json]',
    'inspect <table> [--sql "SELECT … FROM results"] [--json]',
    '',
    'exit codes: 0 done, 1 failed rows (with execution.fail_on_failed_rows), 2 bad config or usage,',
    '            3 the run could not proceed (source, sink, auth), 130 interrupted.',
    'Set RESTLAKE_DEBUG=1 for stack traces.',
  ].join('\n');
}

/** Maps an error to its exit code and prints it: one clear line (or the config issues, or a RestlakeError's own lines), no stack unless debugging. */
export function reportError(e: unknown, io: CommandIO): number {
  const debug = io.env.RESTLAKE_DEBUG === '1';
  if (e instanceof ConfigError) {
    io.stderr.write(`restlake: invalid config:\n${e.issues.length ? ConfigError.format(e.issues).replace(/^/gm, '  ') : '  ' + e.message}\n`);
    if (debug) io.stderr.write(`${e.stack}\n`);
    return EXIT.usage;
  }
  if (e instanceof HelpRequested) {
    io.stdout.write(`${e.usage}\n`);
    return EXIT.ok;
  }
  if (e instanceof UsageError || e instanceof CommandUnavailable) {
    io.stderr.write(`restlake: ${e.message}\n`);
    return EXIT.usage;
  }
  const message = e instanceof Error ? e.message : String(e);
  const shown = e instanceof RestlakeError && e.multiline ? message : message.split('\n')[0];
  io.stderr.write(`restlake: ${e instanceof RestlakeError ? '' : 'error: '}${shown}\n`);
  if (debug && e instanceof Error) io.stderr.write(`${e.stack}\n`);
  return EXIT.cannotRun;
}

export async function main(argv: string[], io: CommandIO = defaultIO()): Promise<number> {
  const [name, ...rest] = argv;
  // `restlake help run` is `restlake run --help`.
  if (name === 'help' && rest.length > 0) {
    if (findCommand(rest[0]!)) return main([rest[0]!, '--help'], io);
    io.stderr.write(`restlake: unknown command "${rest[0]}"\n${helpText()}\n`);
    return EXIT.usage;
  }
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    io.stdout.write(helpText() + '\n');
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === '--version' || name === 'version') {
    const { createRequire } = await import('node:module');
    const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };
    io.stdout.write(`restlake ${pkg.version}\n`);
    return EXIT.ok;
  }
  const entry = findCommand(name);
  if (!entry) {
    io.stderr.write(`restlake: unknown command "${name}"\n${helpText()}\n`);
    return EXIT.usage;
  }
  try {
    const command = await entry.load();
    return await command.run(rest, io);
  } catch (e) {
    return reportError(e, io);
  }
}
