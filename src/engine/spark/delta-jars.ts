// Which delta-spark release fits a Spark version, where its jars live, and fetching them
// with Maven. delta-spark is compiled against one Spark minor line: a mismatched pair
// fails at runtime with NoSuchMethodError, so the choice is a fixed table, not a guess.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { RunError } from '../../errors.js';

/** Spark minor line -> the newest delta-spark release built for it (Delta's compatibility table). */
export const DELTA_FOR_SPARK: Readonly<Record<string, string>> = {
  '3.1': '1.0.1',
  '3.2': '2.0.2',
  '3.3': '2.3.0',
  '3.4': '2.4.0',
  '3.5': '3.3.2',
  '4.0': '4.0.1',
};

export function deltaVersionFor(sparkVersion: string): string {
  const minor = /^(\d+\.\d+)/.exec(sparkVersion)?.[1] ?? sparkVersion;
  const v = DELTA_FOR_SPARK[minor];
  if (!v) {
    throw new RunError(
      'RESTLAKE_SPARK_UNSUPPORTED',
      `no known delta-spark release for Spark ${sparkVersion} (known: ${Object.keys(DELTA_FOR_SPARK).join(', ')}); pass --delta-version to choose one`,
    );
  }
  return v;
}

/** The Maven coordinates of the jars Spark needs to read and write Delta tables. */
export function deltaArtifacts(scalaVersion: string, deltaVersion: string): string[] {
  // delta-core was renamed delta-spark in 3.0; delta-storage exists since 1.0.
  const major = Number(deltaVersion.split('.')[0]);
  const core = major >= 3 ? 'delta-spark' : 'delta-core';
  return [`io.delta:${core}_${scalaVersion}:${deltaVersion}`, `io.delta:delta-storage:${deltaVersion}`];
}

/**
 * Hadoop version (as in SPARK_HOME/jars/hadoop-client-api-<v>.jar) -> the AWS SDK bundle
 * its hadoop-aws was built against (hadoop-project's pom): s3a needs exactly that pair.
 */
export const AWS_BUNDLE_FOR_HADOOP: Readonly<Record<string, string>> = {
  '3.3.4': 'com.amazonaws:aws-java-sdk-bundle:1.12.262',
  '3.3.6': 'com.amazonaws:aws-java-sdk-bundle:1.12.367',
  '3.4.0': 'software.amazon.awssdk:bundle:2.23.19',
  '3.4.1': 'software.amazon.awssdk:bundle:2.24.6',
};

/** The Hadoop version a Spark ships (from its hadoop-client-api jar), or null. */
export function hadoopVersionOf(sparkHome: string): string | null {
  for (const f of jarsIn(join(sparkHome, 'jars'))) {
    const m = /hadoop-client-api-(\d+\.\d+\.\d+)\.jar$/.exec(f);
    if (m) return m[1]!;
  }
  return null;
}

/** hadoop-aws and its AWS SDK bundle for the Hadoop inside a Spark, so Spark can read s3a:// paths. */
export function s3aArtifacts(hadoopVersion: string): string[] {
  const bundle = AWS_BUNDLE_FOR_HADOOP[hadoopVersion];
  if (!bundle) {
    throw new RunError(
      'RESTLAKE_SPARK_UNSUPPORTED',
      `no known AWS SDK bundle for Hadoop ${hadoopVersion} (known: ${Object.keys(AWS_BUNDLE_FOR_HADOOP).join(', ')}); add org.apache.hadoop:hadoop-aws:${hadoopVersion} and the bundle its pom names to execution.spark.jars yourself`,
    );
  }
  return [`org.apache.hadoop:hadoop-aws:${hadoopVersion}`, bundle];
}

/** `~/.restlake/jars/<spark-version>`: where `restlake spark setup` puts the jars by default. */
export function defaultJarDir(sparkVersion: string): string {
  return join(homedir(), '.restlake', 'jars', sparkVersion);
}

/** The package root (…/restlake), from dist/engine/spark/ or src/engine/spark/. */
export function packageRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

function jarsIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => n.endsWith('.jar')).sort().map((n) => join(dir, n));
}

const DELTA_JAR = /^delta-(spark|core)_(\d+\.\d+)-(.+)\.jar$/;

/**
 * The Delta jars to pass with --jars when the config names none: the setup dir for this
 * Spark version, else the repo's `.tools/jars/delta` (scripts/setup/test-deps.sh) when
 * its Scala suffix matches.
 * Empty when Spark already ships Delta in <home>/jars (e.g. a vendor distribution).
 */
export function defaultDeltaJars(install: { home: string; version: string; scalaVersion: string }): string[] {
  const setup = jarsIn(defaultJarDir(install.version));
  if (setup.length) return setup;
  const toolsDir = join(packageRoot(), '.tools', 'jars');
  const tools = [...jarsIn(join(toolsDir, 'delta')), ...jarsIn(toolsDir)].filter((p) => {
    const m = DELTA_JAR.exec(p.slice(p.lastIndexOf('/') + 1));
    return !m || m[2] === install.scalaVersion;
  });
  if (tools.some((p) => DELTA_JAR.test(p.slice(p.lastIndexOf('/') + 1)))) return tools;
  if (jarsIn(join(install.home, 'jars')).some((p) => DELTA_JAR.test(p.slice(p.lastIndexOf('/') + 1)))) return [];
  throw new RunError(
    'RESTLAKE_SPARK_NO_DELTA',
    `no Delta Lake jars for Spark ${install.version}: run \`restlake spark setup\` (fetches them into ${defaultJarDir(install.version)}) or set execution.spark.jars`,
  );
}

export interface FetchResult { artifact: string; ok: boolean; output: string }

/** Copies each artifact (no transitive deps: Spark already ships what delta needs) into `dir` with Maven. */
export async function fetchWithMaven(artifacts: string[], dir: string, mvn = 'mvn'): Promise<FetchResult[]> {
  mkdirSync(dir, { recursive: true });
  const results: FetchResult[] = [];
  for (const artifact of artifacts) {
    const args = ['-B', '-q', 'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy', `-Dartifact=${artifact}`, `-DoutputDirectory=${dir}`];
    const { code, output } = await run(mvn, args);
    results.push({ artifact, ok: code === 0, output });
  }
  return results;
}

function run(cmd: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((res) => {
    let output = '';
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (e) => res({ code: 127, output: `${cmd}: ${e.message}` }));
    child.on('close', (code) => res({ code: code ?? 1, output }));
  });
}
