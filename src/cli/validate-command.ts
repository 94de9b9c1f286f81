// `restlake validate <config> [--set k=v]...`: exit 0, or 2 with every error.
import { parse } from './args.js';
import type { Command, CommandIO } from './commands.js';
import { configPath, loadFromArgs, setValues } from './config-args.js';
import { configWarnings } from '../config/warnings.js';
import { createRedactor } from '../middleware/redact.js';

const USAGE = 'usage: restlake validate <config> [--set key=value]...';

async function run(args: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parse(args, { set: { type: 'string', multiple: true } }, USAGE);
  const path = configPath(positionals, io, USAGE);
  const c = await loadFromArgs(path, setValues(values.set));
  const source = c.source ? `${c.source.format} ${c.source.path}` : '(rows given in memory)';
  // The URL is shown as interpolated (a reference may be the host), with secrets hidden.
  const url = createRedactor(c.secrets).text(c.request.url);
  for (const warning of configWarnings(c)) io.stderr.write(`restlake: warn: ${warning}\n`);
  io.stdout.write(`ok: ${c.name} — ${c.request.method} ${url}\n  source ${source}\n  sink   ${c.sink.path} (${c.sink.mode})\n  engine ${c.execution.engine}\n`);
  return 0;
}

export const validateCommand: Command = { name: 'validate', summary: 'check a config', run };
