// `restlake plan <config> [--limit N] [--set k=v]... [--json]`: the first N requests,
// rendered and redacted, none sent.
import { configWarnings } from '../config/warnings.js';
import { planRequests, type PlannedRequest } from '../engine/plan.js';
import { parse, positiveInt } from './args.js';
import type { Command, CommandIO } from './commands.js';
import { configPath, loadFromArgs, setValues } from './config-args.js';

const USAGE = 'usage: restlake plan <config> [--limit N] [--set key=value]... [--json]';

export function formatPlanned(p: PlannedRequest, index: number): string {
  const lines = [`# ${index + 1}  request_id ${p.request_id}`];
  if (p.error) {
    lines.push(`  (not sent: ${p.error.class}: ${p.error.message})`);
    return lines.join('\n');
  }
  lines.push(`${p.method} ${p.url}`);
  for (const [k, v] of Object.entries(p.headers)) lines.push(`${k}: ${v}`);
  if (p.body !== null && p.body !== '') lines.push('', p.body);
  return lines.join('\n');
}

async function run(args: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parse(args, { limit: { type: 'string' }, set: { type: 'string', multiple: true }, json: { type: 'boolean' } }, USAGE);
  const path = configPath(positionals, io, USAGE);
  const limit = values.limit === undefined ? 5 : positiveInt(values.limit, '--limit', USAGE);
  const config = await loadFromArgs(path, setValues(values.set));
  for (const warning of configWarnings(config)) io.stderr.write(`restlake: warn: ${warning}\n`);
  const planned = await planRequests(config, limit);
  if (values.json === true) {
    for (const p of planned) io.stdout.write(JSON.stringify(p) + '\n');
  } else {
    io.stdout.write(planned.map(formatPlanned).join('\n\n') + '\n');
    io.stdout.write(`\n${planned.length} request${planned.length === 1 ? '' : 's'} rendered, none sent.\n`);
  }
  return 0;
}

export const planCommand: Command = { name: 'plan', summary: 'render requests without sending', run };
