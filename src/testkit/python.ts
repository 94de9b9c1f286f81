// Where the test tools that scripts/setup/test-deps.sh installed live (it writes .tools/paths.json), and
// how tests run them: the venv's Python, pip pyspark's SPARK_HOME, the delta-spark and S3A jars.
// `npm test` runs the setup first; a lone `node scripts/test.mjs` needs `bash scripts/setup/test-deps.sh` once.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface TestTools {
  /** The venv's python (has pyspark, deltalake, pyarrow, moto). */
  python: string;
  /** The pip pyspark package directory: bin/spark-submit, bin/spark-class, jars/. */
  sparkHome: string;
  sparkVersion: string;
  deltalakeVersion: string;
  /** delta-spark and delta-storage jars matching sparkVersion. */
  deltaJars: string[];
  /** hadoop-aws and the AWS SDK bundle, for s3a:// paths in Spark. */
  s3aJars: string[];
  /** SPARK_CONF_DIR for test apps: spark-defaults.conf with quick-starting executor JVM options. */
  sparkConfDir?: string;
}

/**
 * JVM options for every test JVM (drivers, master, workers; executors via spark-defaults.conf): the tests'
 * JVMs are short-lived and share 2 cores, where C1-only JIT and the serial GC start Spark 2-4x faster.
 */
export const TEST_JVM_OPTS = '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC';

/** The repository root (this file is dist/testkit/python.js or src/testkit/python.ts). */
export const repoRoot: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

let tools: TestTools | undefined;

export function testTools(): TestTools {
  if (tools) return tools;
  const file = path.join(repoRoot, '.tools', 'paths.json');
  try {
    tools = JSON.parse(readFileSync(file, 'utf8')) as TestTools;
  } catch (e) {
    throw new Error(`test tools are not installed (${file}: ${(e as Error).message}); run: bash scripts/setup/test-deps.sh`);
  }
  return tools;
}

export const venvPython = (): string => testTools().python;
export const sparkHome = (): string => testTools().sparkHome;
export const sparkJars = (): string[] => testTools().deltaJars;
export const sparkS3Jars = (): string[] => testTools().s3aJars;

/** A script under scripts/interop/. */
export const interopScript = (name: string): string => path.join(repoRoot, 'scripts', 'interop', name);

/**
 * Environment for Spark and PySpark children: our SPARK_HOME and Python, loopback only, and this Node
 * first on PATH (Spark executors on this machine start `node` for the worker).
 */
export function sparkEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const t = testTools();
  const env: NodeJS.ProcessEnv = { ...process.env };
  // A user's Spark setup would change what the tests run against.
  delete env.SPARK_CONF_DIR;
  delete env.PYTHONPATH;
  Object.assign(env, {
    SPARK_HOME: t.sparkHome,
    PYSPARK_PYTHON: t.python,
    PYSPARK_DRIVER_PYTHON: t.python,
    SPARK_LOCAL_IP: '127.0.0.1',
    SPARK_LOCAL_HOSTNAME: 'localhost',
    SPARK_SUBMIT_OPTS: TEST_JVM_OPTS, // the driver JVM in client and local mode
    SPARK_DAEMON_JAVA_OPTS: TEST_JVM_OPTS, // standalone master and workers
    ...(t.sparkConfDir ? { SPARK_CONF_DIR: t.sparkConfDir } : {}),
    PATH: [path.dirname(process.execPath), path.dirname(t.python), process.env.PATH ?? ''].join(path.delimiter),
    ...extra,
  });
  return env;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the child after this long (default 10 min). */
  timeoutMs?: number;
  input?: string;
}

/** Runs the venv's python with args (a script and its arguments) and collects its output. */
export function runPython(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return runProcess(venvPython(), args, opts);
}

export function runProcess(command: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: opts.env ?? sparkEnv(), cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    // A child that exits before reading its input (a failing script) closes the pipe:
    // the EPIPE is not the failure to report, its exit code and stderr are.
    child.stdin.on('error', () => {});
    try {
      child.stdin.end(opts.input ?? '');
    } catch {
      // the same EPIPE, raised synchronously when the child is already gone
    }
  });
}

/**
 * Runs a Python script that prints one JSON document as the last line of its stdout; returns it parsed.
 * A non-zero exit throws with the tail of stderr (the Python traceback).
 */
export async function runPythonJson<T = unknown>(args: string[], opts: RunOptions = {}): Promise<T> {
  const r = await runPython(args, opts);
  if (r.code !== 0) {
    throw new Error(`python ${args.join(' ')} exited ${r.code ?? r.signal}:\n${tail(r.stderr, 60)}`);
  }
  const last = r.stdout.trimEnd().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(`python ${args.join(' ')} printed no JSON result; stdout ends:\n${tail(r.stdout, 20)}\nstderr:\n${tail(r.stderr, 40)}`);
  }
}

export function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

export interface PythonSession {
  /** Sends one request and waits for its answer; an `{error}` answer rejects with the Python traceback. */
  call<T = Record<string, unknown>>(request: Record<string, unknown>): Promise<T>;
  /** Asks the script to exit (op "exit"), then kills it if it lingers. */
  close(): Promise<void>;
  /** The last 64 KiB the script wrote to stderr. */
  stderr(): string;
}

const RESULT_PREFIX = '@@RESULT ';

/**
 * Starts a long-lived Python script that answers JSON requests (one per stdin line) with lines
 * `@@RESULT <json>` on stdout, in order: one Spark start serves a whole test file.
 */
export function startPythonSession(args: string[], opts: Omit<RunOptions, 'input' | 'timeoutMs'> = {}): PythonSession {
  const child = spawn(venvPython(), args, { env: opts.env ?? sparkEnv(), cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  let exited: string | null = null;
  const pending: { resolve: (v: unknown) => void; reject: (e: Error) => void; what: string }[] = [];
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    err = (err + s).slice(-65536);
  });
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (s: string) => {
    buf += s;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!line.startsWith(RESULT_PREFIX)) continue; // Spark/py4j chatter
      const p = pending.shift();
      if (!p) continue;
      const res = JSON.parse(line.slice(RESULT_PREFIX.length)) as { error?: string; traceback?: string };
      if (res && typeof res === 'object' && typeof res.error === 'string') {
        p.reject(new Error(`${p.what} failed in Python: ${res.error}\n${res.traceback ?? ''}`));
      } else p.resolve(res);
    }
  });
  const exitedPromise = new Promise<void>((resolve) => {
    child.on('close', (code, signal) => {
      exited = `exited with ${code ?? signal}`;
      for (const p of pending.splice(0)) p.reject(new Error(`${p.what}: python ${args[0]} ${exited}:\n${tail(err, 60)}`));
      resolve();
    });
  });
  child.on('error', (e) => {
    exited = e.message;
    for (const p of pending.splice(0)) p.reject(e);
  });
  return {
    call<T>(request: Record<string, unknown>): Promise<T> {
      const what = `${String(request.op)}${request.engine ? ' ' + String(request.engine) : ''}${request.path ? ' ' + String(request.path) : ''}`;
      if (exited !== null) return Promise.reject(new Error(`${what}: python ${args[0]} ${exited}:\n${tail(err, 60)}`));
      return new Promise<T>((resolve, reject) => {
        pending.push({ resolve: resolve as (v: unknown) => void, reject, what });
        child.stdin.write(JSON.stringify(request) + '\n');
      });
    },
    async close(): Promise<void> {
      if (exited === null) {
        child.stdin.end(JSON.stringify({ op: 'exit' }) + '\n');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exitedPromise;
        clearTimeout(timer);
      }
    },
    stderr: () => err,
  };
}
