// The command registry. Built-in commands live beside this file; commands other
// areas own (demo, report, spark, table) are loaded on demand from their own files,
// each exporting a `Command` (any export whose `name` matches, e.g. `reportCommand`),
// so a missing or broken one never breaks the others.

export interface CommandIO {
  stdout: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export interface Command {
  name: string;
  summary: string;
  run(args: string[], io: CommandIO): Promise<number>;
}

interface Entry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

function builtin(name: string, summary: string, load: () => Promise<Command>): Entry {
  return { name, summary, load };
}

/** A command in another area's file: `./<file>.js` must export a Command named `name`. */
function plugin(name: string, file: string, summary: string): Entry {
  return {
    name,
    summary,
    async load() {
      let mod: Record<string, unknown>;
      try {
        mod = (await import(file)) as Record<string, unknown>;
      } catch (e) {
        throw new CommandUnavailable(name, `${file} could not be loaded: ${(e as Error).message.split('\n')[0]}`);
      }
      for (const v of Object.values(mod)) {
        const c = v as Partial<Command> | null;
        if (c && typeof c === 'object' && c.name === name && typeof c.run === 'function') return c as Command;
      }
      throw new CommandUnavailable(name, `${file} exports no command named "${name}"`);
    },
  };
}

export class CommandUnavailable extends Error {
  constructor(readonly command: string, detail: string) {
    super(`the "${command}" command is not available in this build (${detail})`);
  }
}

export const COMMANDS: readonly Entry[] = [
  builtin('run', 'run a pipeline: rows become requests, results land in the Delta sink', async () => (await import('./run-command.js')).runCommand),
  builtin('validate', 'check a config; exit 0, or 2 with every error', async () => (await import('./validate-command.js')).validateCommand),
  builtin('plan', 'render the first requests of a pipeline (secrets redacted) without sending any', async () => (await import('./plan-command.js')).planCommand),
  builtin('inspect', 'summarise a sink table: status and error counts, latency, throughput, recent failures', async () => (await import('./inspect-command.js')).inspectCommand),
  builtin('schema', "print the config's JSON Schema (for editor completion)", async () => (await import('./schema-command.js')).schemaCommand),
  plugin('demo', './demo.js', 'start the built-in mock API and OAuth2 server and run the demo pipelines'),
  plugin('report', './report.js', 'write a self-contained HTML report for a sink table'),
  plugin('table', './table.js', 'Delta table maintenance (history, compact, vacuum, checkpoint)'),
  plugin('testkit', '../testkit/fault-server-command.js', 'test servers for rehearsals (fault-server)'),
  plugin('spark', './spark.js', 'spark setup: fetch the Delta Lake jars matching the Spark at SPARK_HOME'),
];

export function findCommand(name: string): Entry | undefined {
  return COMMANDS.find((c) => c.name === name);
}
