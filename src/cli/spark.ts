// `restlake spark setup [--dir DIR] [--spark-home DIR] [--delta-version V] [--s3]`: fetches
// the delta-spark and delta-storage jars that match the Spark found at SPARK_HOME, so that
// `execution.engine: spark` can read and write Delta tables without the user knowing
// which Delta release fits which Spark; with --s3 also hadoop-aws and its AWS SDK bundle
// for the Hadoop inside that Spark, for s3:// sources and sinks.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { RestlakeError, RunError } from '../errors.js';
import { locateSpark } from '../engine/spark/locate.js';
import { defaultJarDir, deltaArtifacts, deltaVersionFor, fetchWithMaven, hadoopVersionOf, s3aArtifacts } from '../engine/spark/delta-jars.js';

/** The slice of the CLI's io this command uses. */
export interface SparkIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

const USAGE = `usage: restlake spark setup [--dir DIR] [--spark-home DIR] [--delta-version V] [--s3] [--mvn PATH]
  Fetches io.delta:delta-spark and io.delta:delta-storage matching the Spark at SPARK_HOME
  (or spark-submit on PATH, or pip pyspark) into DIR (default ~/.restlake/jars/<spark-version>).
  --s3 also fetches hadoop-aws and the AWS SDK bundle for that Spark's Hadoop (s3:// paths).`;

export const sparkCommand = {
  name: 'spark',
  summary: 'spark setup: fetch the Delta Lake jars matching the Spark found at SPARK_HOME',
  run: (args: string[], io: SparkIo) => runSpark(args, io),
};

export async function runSpark(args: string[], io: SparkIo): Promise<number> {
  let values: { dir?: string; 'spark-home'?: string; 'delta-version'?: string; mvn?: string; s3?: boolean; help?: boolean };
  try {
    const parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        dir: { type: 'string' },
        'spark-home': { type: 'string' },
        'delta-version': { type: 'string' },
        mvn: { type: 'string' },
        s3: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    values = parsed.values;
    if (values.help) {
      io.stdout.write(USAGE + '\n');
      return 0;
    }
    const [sub, ...rest] = parsed.positionals;
    if (sub !== 'setup') throw new Error(sub ? `spark: unknown subcommand "${sub}"` : 'spark: missing subcommand');
    if (rest.length) throw new Error(`spark setup: unexpected argument "${rest[0]}"`);
    if (values['delta-version'] !== undefined && !/^\d+\.\d+\.\d+\S*$/.test(values['delta-version'])) {
      throw new Error(`spark setup: --delta-version must look like 3.3.2, got "${values['delta-version']}"`);
    }
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }

  try {
    const cwd = io.cwd ?? process.cwd();
    const env = io.env ?? process.env;
    const home = values['spark-home'] ? resolve(cwd, values['spark-home']) : null;
    const spark = locateSpark(home, env);
    io.stdout.write(`Spark ${spark.version} (Scala ${spark.scalaVersion}) at ${spark.home} (found via ${spark.foundVia})\n`);
    const delta = values['delta-version'] ?? deltaVersionFor(spark.version);
    const dir = values.dir ? resolve(cwd, values.dir) : defaultJarDir(spark.version);
    const artifacts = deltaArtifacts(spark.scalaVersion, delta);
    io.stdout.write(`Delta Lake ${delta}: fetching ${artifacts.join(', ')} into ${dir}\n`);
    if (values.s3) {
      const hadoop = hadoopVersionOf(spark.home);
      if (!hadoop) throw new RunError('RESTLAKE_SPARK_UNSUPPORTED', `cannot tell the Hadoop version of ${spark.home} (no jars/hadoop-client-api-*.jar) to pick hadoop-aws for --s3`);
      const s3a = s3aArtifacts(hadoop);
      io.stdout.write(`s3a for Hadoop ${hadoop}: fetching ${s3a.join(', ')} into ${dir}\n`);
      artifacts.push(...s3a);
    }
    const results = await fetchWithMaven(artifacts, dir, values.mvn ?? 'mvn');
    let failed = 0;
    for (const r of results) {
      if (r.ok) io.stdout.write(`  ok   ${r.artifact}\n`);
      else {
        failed++;
        const tail = r.output.trim().split('\n').filter((l) => /ERROR|error|not found/i.test(l)).slice(-3).join('\n    ');
        io.stderr.write(`  FAIL ${r.artifact}\n    ${tail || r.output.trim().split('\n').slice(-3).join('\n    ')}\n`);
      }
    }
    if (failed) {
      io.stderr.write(`spark setup: ${failed} of ${results.length} artifacts could not be fetched (is Maven installed and Maven Central reachable?)\n`);
      return 3;
    }
    const isDefault = !values.dir;
    io.stdout.write(
      isDefault
        ? `done: pipelines with execution.engine: spark on Spark ${spark.version} use these jars by default\n`
        : `done: set execution.spark.jars to the jars in ${dir}\n`,
    );
    return 0;
  } catch (err) {
    io.stderr.write(`spark setup: ${err instanceof RestlakeError ? err.message : String((err as Error).message ?? err)}\n`);
    return 3;
  }
}
