// A real standalone Spark cluster on loopback for the Spark engine's tests: one master
// and N workers started with `spark-class` from the test venv's pip pyspark
// (scripts/setup/test-deps.sh). Ports are chosen by Spark (port 0) and read back from
// the daemons' logs, so test files can run side by side.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sparkEnv, sparkHome } from '../../testkit/python.js';

export interface TestSparkCluster {
  /** spark://127.0.0.1:<port> */
  master: string;
  close(): Promise<void>;
}

interface Daemon {
  child: ChildProcess;
  log: string[];
  waitFor(re: RegExp, what: string, timeoutMs: number): Promise<RegExpExecArray>;
}

function daemon(args: string[], env: NodeJS.ProcessEnv): Daemon {
  const child = spawn(join(sparkHome(), 'bin', 'spark-class'), args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const log: string[] = [];
  const listeners = new Set<() => void>();
  const take = (b: Buffer): void => {
    for (const line of b.toString('utf8').split('\n')) if (line) log.push(line);
    if (log.length > 2000) log.splice(0, log.length - 2000);
    for (const l of listeners) l();
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  return {
    child,
    log,
    waitFor(re, what, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          for (const line of log) {
            const m = re.exec(line);
            if (m) {
              done();
              return resolve(m);
            }
          }
          if (child.exitCode !== null) {
            done();
            reject(new Error(`${what}: spark-class exited ${child.exitCode}:\n${log.slice(-30).join('\n')}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${what}: not ready after ${timeoutMs} ms:\n${log.slice(-30).join('\n')}`));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', check);
        };
        listeners.add(check);
        child.on('exit', check);
        check();
      });
    },
  };
}

function stop(d: Daemon): Promise<void> {
  return new Promise((resolve) => {
    if (d.child.exitCode !== null || d.child.pid === undefined) return resolve();
    const kill = setTimeout(() => {
      try {
        process.kill(-(d.child.pid as number), 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 10_000);
    d.child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    try {
      process.kill(-(d.child.pid as number), 'SIGTERM');
    } catch {
      clearTimeout(kill);
      resolve();
    }
  });
}

/** Starts a master and `workers` workers (1 core, `memory` each) on 127.0.0.1. */
export async function startTestSparkCluster(opts: { workers?: number; memory?: string } = {}): Promise<TestSparkCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'restlake-spark-cluster-'));
  const env = sparkEnv({ SPARK_LOG_DIR: join(dir, 'logs'), SPARK_WORKER_DIR: join(dir, 'work'), SPARK_NO_DAEMONIZE: '1' });
  const daemons: Daemon[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(daemons.reverse().map(stop));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const master = daemon(['org.apache.spark.deploy.master.Master', '--host', '127.0.0.1', '--port', '0', '--webui-port', '0'], env);
    daemons.push(master);
    const m = await master.waitFor(/Starting Spark master at (spark:\/\/[^\s]+)/, 'spark master', 120_000);
    const url = m[1] as string;
    const ready: Promise<unknown>[] = [];
    for (let i = 0; i < (opts.workers ?? 2); i++) {
      const w = daemon(
        ['org.apache.spark.deploy.worker.Worker', '--host', '127.0.0.1', '--port', '0', '--webui-port', '0', '--cores', '1', '--memory', opts.memory ?? '1g', '--work-dir', join(dir, `work-${i}`), url],
        env,
      );
      daemons.push(w);
      ready.push(w.waitFor(/Successfully registered with master/, `spark worker ${i}`, 120_000));
    }
    await Promise.all(ready);
    return { master: url, close };
  } catch (e) {
    await close();
    throw e;
  }
}
