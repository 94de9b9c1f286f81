// `restlake testkit fault-server`: the fault-injecting server as a standalone
// process, for rehearsing a pipeline against 5xx storms, 429s, resets and hangs
// before pointing it at a real API. Runs until SIGINT/SIGTERM, then prints what
// it injected.
import { parseArgs } from 'node:util';
import { startFaultServer, FAULT_KINDS, type FaultKind, type FaultServerOptions } from './fault-server.js';

export interface TestkitIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

const USAGE = `usage: restlake testkit fault-server [options]
  --port N             listen port (default 8300; 0 = any free port)
  --host H             listen address (default 127.0.0.1)
  --seed N             seed of the fault mix (default 1)
  --mix K=P,K=P        fault probabilities per request id, e.g. status_503=0.1,reset=0.05
  --faulty-attempts N  transient faults hit the first N attempts of an id (default 1)
  --retry-after S      Retry-After seconds for 429 faults (default 1)
  --rate N             global limit in requests/second (429 beyond); --burst N
  --hang-ms N          reset hung responses after N ms (default: hang until the client gives up)
  --slow-body-ms N     how long slow bodies take (default 1500)
  --latency-ms N       latency added to every answer
faults: ${FAULT_KINDS.join(', ')}
A request may also ask for one: ?fault=status_503&fault_attempts=2 or header x-fault.`;

export const faultServerCommand = {
  name: 'fault-server',
  summary: 'run the fault-injecting test server (5xx, 429, resets, hangs, truncated JSON) for rehearsals',
  run: (args: string[], io: TestkitIo) => runFaultServerCommand(args, io),
};

/** `stop` ends the server (tests); otherwise SIGINT/SIGTERM do. Exit code 0, or 2 on bad usage. */
export async function runFaultServerCommand(args: string[], io: TestkitIo, stop?: Promise<unknown>): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(USAGE + '\n');
    return 0;
  }
  let opts: FaultServerOptions;
  try {
    opts = parseOptions(args);
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  let server;
  try {
    server = await startFaultServer(opts);
  } catch (err) {
    io.stderr.write(`fault-server: ${(err as Error).message}\n`);
    return 2;
  }
  io.stdout.write(`fault server listening on ${server.url}\n`);
  const stopped =
    stop ??
    new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
  await stopped;
  const s = server.stats();
  await server.close();
  io.stdout.write(`requests: ${s.total}, served ok: ${s.served}\n`);
  for (const [fault, n] of Object.entries(s.byFault).sort()) io.stdout.write(`  ${fault}: ${n}\n`);
  return 0;
}

function parseOptions(args: string[]): FaultServerOptions {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      port: { type: 'string' },
      host: { type: 'string' },
      seed: { type: 'string' },
      mix: { type: 'string' },
      'faulty-attempts': { type: 'string' },
      'retry-after': { type: 'string' },
      rate: { type: 'string' },
      burst: { type: 'string' },
      'hang-ms': { type: 'string' },
      'slow-body-ms': { type: 'string' },
      'latency-ms': { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new Error(`fault-server: unexpected argument "${positionals[0]}"`);
  const num = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`fault-server: --${name} must be a number ≥ 0, got "${v}"`);
    return n;
  };
  const mix: Partial<Record<FaultKind, number>> = {};
  if (values.mix) {
    for (const part of values.mix.split(',').filter(Boolean)) {
      const [k, p] = part.split('=');
      if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new Error(`fault-server: --mix: unknown fault "${k}"`);
      mix[k as FaultKind] = num(`mix ${k}`, p ?? '');
    }
  }
  const rate = num('rate', values.rate);
  return {
    port: num('port', values.port) ?? 8300,
    host: values.host,
    seed: num('seed', values.seed),
    mix,
    faultyAttempts: num('faulty-attempts', values['faulty-attempts']),
    retryAfterSeconds: num('retry-after', values['retry-after']),
    rateLimit: rate ? { requestsPerSecond: rate, burst: num('burst', values.burst) } : null,
    hangMs: num('hang-ms', values['hang-ms']) ?? null,
    slowBodyMs: num('slow-body-ms', values['slow-body-ms']),
    latencyMs: num('latency-ms', values['latency-ms']),
  };
}

/** `restlake testkit <server>`: the test servers as commands (today: fault-server). */
export const testkitCommand = {
  name: 'testkit',
  summary: 'test servers for rehearsals: `testkit fault-server` injects 5xx, 429, resets, hangs and truncated JSON',
  run: async (args: string[], io: TestkitIo): Promise<number> => {
    if (args[0] === 'fault-server') return runFaultServerCommand(args.slice(1), io);
    io.stderr.write(`usage: restlake testkit fault-server [options]   (--help for the options)\n`);
    return 2;
  },
};
