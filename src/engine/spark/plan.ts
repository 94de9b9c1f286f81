// What the PySpark driver script is told (plan.json) and how restlake answers its one
// question, the source's columns -> request_id SQL and sink columns. Everything here is
// pure, so the SQL and DDL the job runs are unit-tested without Spark.
//
// No secret ever reaches this file: plan.json and the SQL built from it are visible to
// anyone who can see Spark's UI or the driver's temp dir.
import type { PipelineConfig, SourceConfig, SourceEncoding } from '../../config/types.js';
import type { CsvDialect } from '../../source/csv-check.js';
import { ConfigError } from '../../errors.js';
import type { DeltaType, StructField } from '../../delta/schema/types.js';
import { REQUEST_ID_FIELD, sparkRequestIdSql } from '../../request/request-id.js';
import { sinkSchema } from '../../sink/schema.js';
import { checkTemplateColumns } from '../../request/template-columns.js';
import { WORKER_NODE_FLAGS } from '../../worker/node-flags.js';
import { JOB_FILE, WORKER_FILE } from './job-file.js';

export interface SparkPlan {
  app_name: string;
  run_id: string;
  /**
   * `schema`: the DDL Spark reads a CSV or JSON source with (DuckDB's sniffed types), or
   * null; `options`: its reader options (sourceReadOptions); `casts`: columns cast after
   * reading (name -> a Spark SQL expression over the text column; source-schema.ts sparkCastsOf).
   */
  source: { path: string | null; table: string | null; format: string; limit: number | null; schema: string | null; options: Record<string, string>; casts: Record<string, string> };
  sink: { path: string; mode: 'append' | 'overwrite' };
  resume: boolean;
  max_requests: number | null;
  commit_rows: number;
  /** Partitions per batch (one Node worker each); null = Spark's default parallelism. */
  partitions: number | null;
  request_id_column: string;
  /** The TRANSFORM script: file names only (the job file holds the per-run secret). */
  transform_command: string;
  question_file: string;
  answer_file: string;
  /** Spark conf keys the user set (the script leaves those alone). */
  user_conf_keys: string[];
  /** This process: the script ends its Spark application if restlake dies first. */
  parent_pid: number;
  /** A file (only this user can read) of conf the script sets on its session: credentials kept off the command line. */
  secret_conf_file: string | null;
}

/** Spark reads S3 through the s3a connector; users write s3://. */
export function sparkPath(path: string): string {
  return path.replace(/^s3:\/\//i, 's3a://');
}

export function buildPlan(
  config: PipelineConfig,
  runId: string,
  files: { question: string; answer: string; secretConf?: string | null; sourceSchema?: string | null; sourceCasts?: Record<string, string>; csvDialect?: CsvDialect | null },
  nodeCommand = 'node',
): SparkPlan {
  const src = config.source;
  if (!src) {
    throw new ConfigError([{ path: 'source', message: 'the Spark engine reads its rows from a source table; rows given in memory need engine: local' }]);
  }
  const table = sourceTable(config);
  return {
    app_name: `restlake ${config.name} ${runId}`,
    run_id: runId,
    source: {
      path: table ? null : sparkPath(src.path),
      table,
      format: src.format,
      limit: src.limit,
      schema: files.sourceSchema ?? null,
      options: table ? {} : sourceReadOptions(src, files.csvDialect ?? null),
      casts: files.sourceSchema ? (files.sourceCasts ?? {}) : {},
    },
    sink: { path: sparkPath(config.sink.path), mode: config.sink.mode },
    resume: config.execution.resume,
    max_requests: config.execution.max_requests,
    commit_rows: Math.max(1, config.execution.commit_rows),
    partitions: config.execution.workers === 'auto' ? null : config.execution.workers,
    request_id_column: REQUEST_ID_FIELD,
    transform_command: [nodeCommand, ...WORKER_NODE_FLAGS, WORKER_FILE, JOB_FILE].join(' '),
    question_file: files.question,
    answer_file: files.answer,
    user_conf_keys: Object.keys(config.execution.spark?.conf ?? {}),
    parent_pid: process.pid,
    secret_conf_file: files.secretConf ?? null,
  };
}

// Spark's names for the encodings source.encoding accepts. DuckDB reads utf-16 as
// little-endian, BOM or not (a big-endian file is garbage to it); Spark's 'UTF-16'
// takes a file without BOM as big-endian and finds no rows in a little-endian one. So
// Spark is told UTF-16LE, which reads the same rows as DuckDB with or without BOM.
const SPARK_ENCODING: Readonly<Record<SourceEncoding, string>> = { 'utf-8': 'UTF-8', 'utf-16': 'UTF-16LE', 'latin-1': 'ISO-8859-1' };

/**
 * Spark reader options for a CSV or JSON source, so it reads what the local engine
 * reads: the dialect DuckDB found (a local source) or RFC 4180's (s3://, `,` and `"`,
 * with `""` as the escaped quote: Spark's own default escape is a backslash), the
 * configured encoding, and FAILFAST: Spark's default mode (PERMISSIVE) turns a line
 * with a field too many or too few into a row of nulls or a row without its extra
 * field, a request made with the wrong values. A local source was checked line by line
 * before Spark starts; an s3:// one is not, and FAILFAST stops its job at a bad line.
 */
export function sourceReadOptions(src: SourceConfig, dialect: CsvDialect | null): Record<string, string> {
  if (src.format === 'json') return { mode: 'FAILFAST' };
  if (src.format !== 'csv') return {};
  const quote = dialect?.quote ?? '"';
  const options: Record<string, string> = { header: 'true', mode: 'FAILFAST', sep: dialect?.delim ?? ',', quote, escape: quote };
  if (src.encoding) {
    options.encoding = SPARK_ENCODING[src.encoding];
    // Spark splits a file into lines on the byte \n before decoding it, which cuts
    // UTF-16 characters in half; read whole, it decodes first.
    if (src.encoding === 'utf-16') options.multiLine = 'true';
  }
  return options;
}

/** A catalog table (`catalog.schema.table` or `schema.table`) given as the source, if any. */
export function sourceTable(config: PipelineConfig): string | null {
  return config.source?.table ?? null;
}

// ---- the answer to the driver script's question -------------------------------------

export interface SourceField { name: string; type: string }

export interface SinkColumn {
  name: string;
  /** Spark DDL type of the sink column. */
  type: string;
  nullable: boolean;
  /** Type from_json reads the worker's JSON value as. */
  json_type: string;
  /** Expression over the parsed struct `r` giving the column. */
  select_sql: string;
}

export interface SchemaAnswer {
  request_id_sql: string;
  sink_columns: SinkColumn[];
}

function quote(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

const DDL: Record<string, string> = {
  string: 'STRING',
  long: 'BIGINT',
  integer: 'INT',
  short: 'SMALLINT',
  byte: 'TINYINT',
  float: 'FLOAT',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  binary: 'BINARY',
  date: 'DATE',
  timestamp: 'TIMESTAMP',
};

function fixedDdl(t: DeltaType): string {
  if (typeof t === 'string' && DDL[t]) return DDL[t];
  throw new Error(`unexpected sink column type ${JSON.stringify(t)}`);
}

/**
 * A source column's Spark type as a sink column type. The sink stays at protocol 1/2:
 * naive timestamps land as (UTC) timestamps, as the local engine does; an all-null JSON
 * column (`void`) lands as a string.
 */
export function sinkTypeOfSpark(type: string): string {
  return type.replace(/\btimestamp_ntz\b/g, 'timestamp').replace(/\bvoid\b/g, 'string');
}

/** Microsecond epoch numbers from the worker become timestamps. */
const EPOCH_MICROS = new Set(['started_at', 'finished_at']);

export function answerSchema(config: PipelineConfig, fields: readonly SourceField[]): SchemaAnswer {
  const byName = new Map(fields.map((f) => [f.name, f]));
  const keys = config.source?.key ?? fields.map((f) => f.name);
  const missing = keys.filter((k) => !byName.has(k));
  if (missing.length) {
    throw new ConfigError(
      missing.map((k) => ({ path: 'source.key', message: `the source has no column "${k}" (it has: ${fields.map((f) => f.name).join(', ') || 'none'})` })),
    );
  }
  checkTemplateColumns(config, fields.map((f) => f.name));
  // The local engine's schema decides names, order and nullability (same table, either
  // engine); Spark supplies the source columns' types.
  const schema = sinkSchema(config, fields.map((f) => ({ name: f.name, duckType: 'VARCHAR' })));
  const copied = new Set(config.sink.source_columns);
  const sink_columns = schema.fields.map((f: StructField): SinkColumn => {
    const ref = `r.${quote(f.name)}`;
    if (copied.has(f.name)) {
      const type = sinkTypeOfSpark((byName.get(f.name) as SourceField).type);
      return { name: f.name, type, nullable: true, json_type: type, select_sql: ref };
    }
    if (EPOCH_MICROS.has(f.name)) {
      return { name: f.name, type: 'TIMESTAMP', nullable: f.nullable, json_type: 'BIGINT', select_sql: `timestamp_micros(${ref})` };
    }
    const type = fixedDdl(f.type);
    return { name: f.name, type, nullable: f.nullable, json_type: type, select_sql: ref };
  });
  return { request_id_sql: sparkRequestIdSql(config.name, keys), sink_columns };
}
