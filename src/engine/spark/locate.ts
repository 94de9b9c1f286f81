// Finding the user's Spark: its home, version, Scala version, and the Python that can
// run a PySpark driver script. Shared by `restlake spark setup` and the Spark engine.
//
// Order: an explicit home (config `execution.spark.spark_home`), $SPARK_HOME,
// `spark-submit` on PATH, then a pip-installed pyspark (`python3 -c 'import pyspark'`).
// The version is read from the jar names under <home>/jars (spark-core_<scala>-<version>.jar),
// which costs no JVM start; `spark-submit --version` is the fallback.
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { RunError } from '../../errors.js';

export interface SparkInstall {
  /** Absolute SPARK_HOME. */
  home: string;
  /** e.g. "3.5.5". */
  version: string;
  /** e.g. "2.12". */
  scalaVersion: string;
  /** `<home>/bin/spark-submit`. */
  sparkSubmit: string;
  /** How the home was found, for messages. */
  foundVia: 'config' | 'SPARK_HOME' | 'PATH' | 'pip pyspark';
  /** A Python that can `import pyspark` (a pip install's own interpreter), or null to let Spark pick. */
  python: string | null;
}

export function locateSpark(explicitHome: string | null, env: NodeJS.ProcessEnv = process.env): SparkInstall {
  const tried: string[] = [];
  const candidates: Array<[SparkInstall['foundVia'], () => string | null]> = [
    ['config', () => explicitHome],
    ['SPARK_HOME', () => env.SPARK_HOME || null],
    ['PATH', () => homeFromPath(env)],
    ['pip pyspark', () => homeFromPip(env)],
  ];
  for (const [via, find] of candidates) {
    const home = find();
    if (!home) continue;
    const abs = resolve(home);
    const submit = join(abs, 'bin', 'spark-submit');
    if (!existsSync(submit)) {
      tried.push(`${via}: ${abs} (no bin/spark-submit)`);
      // An explicit setting that is wrong is an error, not something to silently skip.
      if (via === 'config' || via === 'SPARK_HOME') break;
      continue;
    }
    const { version, scalaVersion } = readVersions(abs, submit, env);
    return { home: abs, version, scalaVersion, sparkSubmit: submit, foundVia: via, python: pipPython(abs) };
  }
  throw new RunError(
    'RESTLAKE_SPARK_NOT_FOUND',
    'Spark not found' + (tried.length ? ` (tried ${tried.join('; ')})` : '') +
      ': set SPARK_HOME or execution.spark.spark_home, put spark-submit on PATH, or `pip install pyspark`',
  );
}

function homeFromPath(env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, 'spark-submit');
    if (existsSync(p)) {
      // /usr/local/bin/spark-submit is often a symlink into the distribution.
      return dirname(dirname(realpathSync(p)));
    }
  }
  return null;
}

function homeFromPip(env: NodeJS.ProcessEnv): string | null {
  const r = spawnSync(env.PYSPARK_PYTHON || 'python3', ['-c', 'import os, pyspark; print(os.path.dirname(pyspark.__file__))'], {
    encoding: 'utf8',
    env,
    timeout: 30_000,
  });
  const out = r.status === 0 ? r.stdout.trim() : '';
  return out || null;
}

/** A pip pyspark lives in <venv>/lib/pythonX.Y/site-packages/pyspark; its interpreter is <venv>/bin/python. */
function pipPython(home: string): string | null {
  if (!existsSync(join(home, 'find_spark_home.py'))) return null; // a full distribution: Spark sets PYTHONPATH itself
  const venvPython = resolve(home, '..', '..', '..', '..', 'bin', 'python');
  return existsSync(venvPython) ? venvPython : null;
}

const CORE_JAR = /^spark-core_(\d+\.\d+)-(\d+\.\d+\.\d+[^/]*)\.jar$/;

function readVersions(home: string, submit: string, env: NodeJS.ProcessEnv): { version: string; scalaVersion: string } {
  const jarsDir = join(home, 'jars');
  if (existsSync(jarsDir) && statSync(jarsDir).isDirectory()) {
    for (const name of readdirSync(jarsDir)) {
      const m = CORE_JAR.exec(name);
      if (m) return { scalaVersion: m[1], version: m[2] };
    }
  }
  const r = spawnSync(submit, ['--version'], { encoding: 'utf8', env, timeout: 120_000 });
  const text = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  const v = /version (\d+\.\d+\.\d+\S*)/.exec(text);
  const s = /Scala version (\d+\.\d+)/.exec(text);
  if (!v || !s) {
    throw new RunError('RESTLAKE_SPARK_VERSION', `could not read the Spark version of ${home} (no jars/spark-core_*.jar and \`spark-submit --version\` said nothing usable)`);
  }
  return { version: v[1], scalaVersion: s[1] };
}
