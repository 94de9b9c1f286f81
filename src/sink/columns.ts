// The sink's own columns (DESIGN §3), listed once: names, Delta types, nullability, and
// where the pipeline's source and extract columns go between them. Config validation
// (reserved names), the table schema and the worker's result lines all read this list.

export interface SinkColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'boolean' | 'double' | 'timestamp';
  readonly nullable: boolean;
}

const col = (name: string, type: SinkColumn['type'], nullable = true): SinkColumn => ({ name, type, nullable });

/** First in the table; `sink.source_columns` follow them. */
export const LEADING_COLUMNS: readonly SinkColumn[] = [col('request_id', 'string', false), col('run_id', 'string', false), col('pipeline', 'string', false)];

/** After the source columns; `response.extract` columns follow them. */
export const OUTCOME_COLUMNS: readonly SinkColumn[] = [
  col('method', 'string'),
  col('url', 'string'),
  col('request_headers', 'string'),
  col('request_body', 'string'),
  col('status_code', 'integer'),
  col('success', 'boolean', false),
  col('attempts', 'integer', false),
  col('error_class', 'string'),
  col('error_message', 'string'),
  col('response_headers', 'string'),
  col('response_body', 'string'),
  col('response_truncated', 'boolean'),
];

/** Last in the table. Timestamps travel in result lines as epoch microseconds. */
export const TIMING_COLUMNS: readonly SinkColumn[] = [col('started_at', 'timestamp'), col('finished_at', 'timestamp'), col('duration_ms', 'double')];

export const SINK_COLUMNS: readonly SinkColumn[] = [...LEADING_COLUMNS, ...OUTCOME_COLUMNS, ...TIMING_COLUMNS];

/** Names a source or extract column cannot take. */
export const RESERVED_SINK_COLUMNS: readonly string[] = SINK_COLUMNS.map((c) => c.name);
