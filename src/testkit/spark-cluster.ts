// A real standalone Spark cluster on loopback for tests: one master and N workers, started with
// `spark-class` from pip pyspark (.tools/venv), on ports the JVMs pick themselves, with small memory,
// logs and work dirs in a temp dir. Executors run on this machine, so this Node is on their PATH.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runProcess, sparkEnv, sparkHome, tail, type RunOptions, type RunResult } from './python.js';
import { stopProcess } from './process.js';

export interface SparkClusterOptions {
  /** Worker processes (default 2). */
  workers?: number;
  /** Cores each worker offers (default 1). */
  coresPerWorker?: number;
  /** Memory each worker offers to executors (default 1g); submit with spark.executor.memory at most this. */
  memoryPerWorker?: string;
  /** Extra environment for the master, the workers and therefore the executors. */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the master and every worker to be up (default 120 s). */
  startTimeoutMs?: number;
}

export interface SparkWorkerInfo { id: string; state: string; cores: number; memory: number }

export interface SparkCluster {
  /** spark://127.0.0.1:PORT, for --master / execution.spark.master. */
  masterUrl: string;
  /** The master's web UI (its /json/ endpoint lists workers and applications). */
  masterWebUrl: string;
  sparkHome: string;
  /** master.log, worker-N.log, and the workers' work dirs (executor stdout/stderr under work-N/app-*). */
  dir: string;
  /** The environment the cluster runs with; use it for spark-submit too. */
  env: NodeJS.ProcessEnv;
  /** `spark-submit --master <masterUrl> ...args` in client mode; resolves with its exit and output. */
  submit(args: string[], opts?: RunOptions): Promise<RunResult>;
  /** Workers as the master sees them. */
  workers(): Promise<SparkWorkerInfo[]>;
  /** The last lines of the master's and workers' logs and of the newest executors' stderr, to explain a failed run. */
  logTails(lines?: number): Promise<string>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
// If a test process ends without stop(), take its JVMs along.
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export async function startSparkCluster(opts: SparkClusterOptions = {}): Promise<SparkCluster> {
  const home = sparkHome();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'restlake-spark-cluster-'));
  const env = sparkEnv({
    SPARK_DAEMON_MEMORY: '256m', // master and worker JVMs; executors get memoryPerWorker
    SPARK_LOCAL_DIRS: path.join(dir, 'local'),
    SPARK_WORKER_DIR: path.join(dir, 'work'),
    SPARK_LOG_DIR: dir,
    ...opts.env,
  });
  const timeoutMs = opts.startTimeoutMs ?? 120_000;
  const procs: ChildProcess[] = [];
  const start = (name: string, args: string[]): { proc: ChildProcess; log: string } => {
    const log = path.join(dir, `${name}.log`);
    const fd = openSync(log, 'a');
    const proc = spawn(path.join(home, 'bin', 'spark-class'), args, { env, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    procs.push(proc);
    return { proc, log };
  };
  const stop = async (): Promise<void> => {
    await Promise.all(procs.map((p) => stopProcess(p, 10_000)));
    await fs.rm(dir, { recursive: true, force: true }).catch(() => {});
  };

  try {
    const master = start('master', ['org.apache.spark.deploy.master.Master', '--host', '127.0.0.1', '--port', '0', '--webui-port', '0']);
    const [masterUrl, masterWebUrl] = await waitForLog(master, timeoutMs, (text) => {
      const url = /Starting Spark master at (spark:\/\/[\w.-]+:\d+)/.exec(text)?.[1];
      const web = /MasterWebUI.*started at (http:\/\/[\w.-]+:\d+)/.exec(text)?.[1];
      return url && web ? [url, web] : null;
    });
    const n = opts.workers ?? 2;
    const workers = Array.from({ length: n }, (_, i) =>
      start(`worker-${i}`, [
        'org.apache.spark.deploy.worker.Worker',
        '--host', '127.0.0.1', '--port', '0', '--webui-port', '0',
        '--cores', String(opts.coresPerWorker ?? 1),
        '--memory', opts.memoryPerWorker ?? '1g',
        '--work-dir', path.join(dir, `work-${i}`),
        masterUrl,
      ]),
    );
    await Promise.all(workers.map((w) => waitForLog(w, timeoutMs, (text) => (/Successfully registered with master/.test(text) ? true : null))));

    const cluster: SparkCluster = {
      masterUrl,
      masterWebUrl,
      sparkHome: home,
      dir,
      env,
      submit: (args, runOpts = {}) =>
        runProcess(path.join(home, 'bin', 'spark-submit'), ['--master', masterUrl, '--deploy-mode', 'client', ...args], { env, ...runOpts }),
      workers: async () => {
        const res = await fetchJson(`${masterWebUrl}/json/`);
        return ((res.workers ?? []) as Record<string, unknown>[]).map((w) => ({
          id: String(w.id), state: String(w.state), cores: Number(w.cores), memory: Number(w.memory),
        }));
      },
      logTails: (lines = 30) => logTails(dir, lines),
      stop,
    };
    return cluster;
  } catch (e) {
    const logs = await logTails(dir, 30);
    await stop();
    throw new Error(`Spark cluster did not start: ${(e as Error).message}\n${logs}`);
  }
}

async function logTails(dir: string, lines: number): Promise<string> {
  const entries = await fs.readdir(dir).catch(() => [] as string[]);
  const files = entries.filter((f) => f.endsWith('.log')).map((f) => path.join(dir, f));
  // Executor logs: work-N/app-*/<executor>/stderr, the newest application of each worker.
  for (const w of entries.filter((f) => f.startsWith('work-'))) {
    const apps = (await fs.readdir(path.join(dir, w)).catch(() => [] as string[])).filter((a) => a.startsWith('app-')).sort();
    const app = apps.at(-1);
    if (!app) continue;
    for (const ex of await fs.readdir(path.join(dir, w, app)).catch(() => [] as string[])) files.push(path.join(dir, w, app, ex, 'stderr'));
  }
  const parts = await Promise.all(files.map(async (f) => `--- ${path.relative(dir, f)}\n${tail(await fs.readFile(f, 'utf8').catch(() => '(unreadable)'), lines)}`));
  return parts.join('\n');
}

/** Polls a JVM's log file until `match` finds what it waits for; fails early if the JVM exits. */
async function waitForLog<T>(p: { proc: ChildProcess; log: string }, timeoutMs: number, match: (text: string) => T | null): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await fs.readFile(p.log, 'utf8').catch(() => '');
    const found = match(text);
    if (found !== null) return found;
    if (p.proc.exitCode !== null || p.proc.signalCode !== null) {
      throw new Error(`${path.basename(p.log, '.log')} exited with ${p.proc.exitCode ?? p.proc.signalCode}`);
    }
    if (Date.now() > deadline) throw new Error(`${path.basename(p.log, '.log')} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function fetchJson(url: string): Promise<Record<string, unknown>> {
  // Test-kit code, not a hot path: node's http client is enough here.
  const http = await import('node:http');
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (s: string) => (body += s));
        res.on('end', () => {
          try {
            resolve(JSON.parse(body) as Record<string, unknown>);
          } catch (e) {
            reject(new Error(`${url} answered ${res.statusCode} with non-JSON: ${body.slice(0, 200)}`));
          }
        });
      })
      .on('error', reject);
  });
}
