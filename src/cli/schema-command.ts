// `restlake schema`: the config's JSON Schema on stdout.
import { configJsonSchema } from '../config/json-schema.js';
import { parse, UsageError } from './args.js';
import type { Command, CommandIO } from './commands.js';

async function run(args: string[], io: CommandIO): Promise<number> {
  const usage = "usage: restlake schema   (the config's JSON Schema on stdout)";
  if (parse(args, {}, usage).positionals.length > 0) throw new UsageError(`restlake schema takes no arguments\n${usage}`);
  io.stdout.write(JSON.stringify(configJsonSchema(), null, 2) + '\n');
  return 0;
}

export const schemaCommand: Command = { name: 'schema', summary: 'print the JSON Schema', run };
