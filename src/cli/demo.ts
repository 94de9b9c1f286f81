// `restlake demo [--dir DIR] [--rows N]`: the two-command tour. Starts the mock
// API and a real OAuth2 server in this process, writes small demo sources, copies
// the five auth examples (none, basic, bearer, OAuth2 client credentials, OAuth2
// password) into DIR, runs them in parallel with live progress, and ends with a
// summary and how to look at the tables. Nothing to set up beyond `npm ci`.
import { rm, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, runConfig, type PipelineConfig } from '../index.js';
import type { Command, CommandIO } from './commands.js';
import { writeDemoConfigs } from './demo-configs.js';
import { ProgressBoard, fmt } from './demo-progress.js';
import { runDemoServe } from './demo-serve.js';
import { startDemoPlatform, DEMO_SECRET_VARS } from './demo-servers.js';
import { writeDemoSources } from './demo-sources.js';
import { demoJson, demoSummaryText, type DemoOutcome, type DemoResult } from './demo-summary.js';

const USAGE = `usage: restlake demo [--dir DIR] [--rows N] [--plain | --quiet | --json]
  --dir DIR   where sources, configs and tables go (default ./demo-lake)
  --rows N    rows per demo source (default 2000)
  --plain     periodic progress lines instead of the live display
  --quiet     no progress, only the summary
  --json      a machine-readable summary on stdout, nothing else
       restlake demo prepare [--dir DIR] [--rows N]   only write the sources and configs
       restlake demo serve [--host H] [--api-port 8200] [--oauth-port 8180]   only run the mock API and OAuth2 server`;

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run five demo pipelines (one per auth pattern) in parallel against a built-in mock API and OAuth2 server',
  run: (args, io) => {
    if (args[0] === 'serve') return runDemoServe(args.slice(1), io);
    if (args[0] === 'prepare') return runDemo(args.slice(1), io, { prepareOnly: true });
    return runDemo(args, io);
  },
};

export async function runDemo(args: string[], io: CommandIO, opts: { prepareOnly?: boolean } = {}): Promise<number> {
  let dir: string;
  let rows: number;
  let mode: 'tty' | 'plain' | 'quiet' | 'json';
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        dir: { type: 'string' },
        rows: { type: 'string' },
        plain: { type: 'boolean' },
        quiet: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      io.stdout.write(USAGE + '\n');
      return 0;
    }
    if (positionals.length > 0) throw new Error(`demo: unexpected argument "${positionals[0]}"`);
    dir = resolve(io.cwd, values.dir ?? 'demo-lake');
    rows = values.rows === undefined ? 2000 : Number(values.rows);
    if (!Number.isInteger(rows) || rows < 1 || rows > 10_000_000) throw new Error(`demo: --rows must be a whole number from 1 to 10000000, got "${values.rows}"`);
    mode = values.json ? 'json' : values.quiet ? 'quiet' : values.plain || !io.stderr.isTTY ? 'plain' : 'tty';
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const say = (s: string) => {
    if (mode !== 'json') io.stdout.write(s);
  };
  const shown = (p: string) => relative(io.cwd, p) || '.';

  if (opts.prepareOnly) {
    const sources = await writeDemoSources(join(dir, 'sources'), rows);
    const pipelines = await writeDemoConfigs(dir, sources, rows);
    say(`wrote ${fmt(rows)} rows per source to ${shown(join(dir, 'sources'))} and these configs:\n`);
    for (const p of pipelines) say(`  npx restlake run ${shown(p.config)}\n`);
    say(`they read RESTLAKE_DEMO_API, RESTLAKE_DEMO_TOKEN_URL and ${DEMO_SECRET_VARS.join(', ')} from the environment (see \`restlake demo serve\`)\n`);
    return 0;
  }

  const platform = await startDemoPlatform();
  try {
    say(`restlake demo: mock API ${platform.api.url}, OAuth2 server ${platform.oauth.tokenUrl}\n`);
    const sources = await writeDemoSources(join(dir, 'sources'), rows);
    const pipelines = await writeDemoConfigs(dir, sources, rows);
    for (const p of pipelines) {
      const problem = await clearOldTable(p.table);
      if (problem) {
        io.stderr.write(`demo: ${problem}\n`);
        return 2;
      }
    }
    say(`wrote ${fmt(rows)} rows per source to ${shown(join(dir, 'sources'))}, ${pipelines.length} configs to ${shown(join(dir, 'pipelines'))}\n\n`);

    // The example configs read the URLs and secrets with ${env:…}, like a deployment would.
    // All five are validated before any request is sent.
    const env = { ...io.env, ...platform.env };
    const configs: PipelineConfig[] = [];
    for (const p of pipelines) configs.push(await loadConfig(p.config, { env }));

    const board = new ProgressBoard(
      pipelines.map((p) => p.name),
      io.stderr,
      mode === 'json' ? 'quiet' : mode,
    );
    for (const p of pipelines) board.expect(p.name, p.rows);
    const started = Date.now();
    // Ctrl-C / SIGTERM: every pipeline stops reading, finishes in flight, commits (exit 130).
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    board.start();
    const outcomes = await Promise.all(
      pipelines.map(async (p, i): Promise<DemoOutcome> => {
        try {
          const summary = await runConfig(configs[i], {
            signal: abort.signal,
            onProgress: (s) => board.update(p.name, { ...s, expected: s.expected ?? p.rows }),
          });
          board.finish(p.name, { ...summary, expected: summary.rows });
          return { pipeline: p, summary, error: null };
        } catch (err) {
          const message = String((err as Error)?.message ?? err).split('\n')[0];
          board.fail(p.name, message);
          return { pipeline: p, summary: null, error: message };
        }
      }),
    );
    board.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    const interrupted = abort.signal.aborted;
    const result: DemoResult = { dir, elapsedMs: Date.now() - started, outcomes, api: platform.api.stats(), oauth: platform.oauth.stats(), interrupted };
    if (mode === 'json') io.stdout.write(JSON.stringify(demoJson(result), null, 2) + '\n');
    else say(demoSummaryText(result, shown));
    const allOk = outcomes.every((o) => o.summary !== null && o.summary.failed === 0);
    const crashed = outcomes.some((o) => o.summary === null);
    return interrupted ? 130 : crashed ? 3 : allOk ? 0 : 1;
  } finally {
    await platform.close();
  }
}

/** A rerun starts from empty tables; refuses to delete anything that is not a Delta table. */
async function clearOldTable(table: string): Promise<string | null> {
  try {
    await stat(table);
  } catch {
    return null;
  }
  try {
    await stat(join(table, '_delta_log'));
  } catch {
    return `${table} exists and is not a Delta table; choose another --dir`;
  }
  await rm(table, { recursive: true, force: true });
  return null;
}
