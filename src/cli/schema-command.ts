// `restlake schema`: the config's JSON Schema on stdout.
import { configJsonSchema } from '../config/json-schema.js';
import { UsageError } from './args.js';
import type { Command, CommandIO } from './commands.js';

async function run(args: string[], io: CommandIO): Promise<number> {
  if (args.length > 0) throw new UsageError('usage: restlake schema');
  io.stdout.write(JSON.stringify(configJsonSchema(), null, 2) + '\n');
  return 0;
}

export const schemaCommand: Command = { name: 'schema', summary: 'print the JSON Schema', run };
