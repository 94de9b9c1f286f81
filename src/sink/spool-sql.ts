// The SELECT that turns spooled result lines (NDJSON written by the driver) into
// typed sink rows. DuckDB parses the files natively, so results reach Parquet without
// any per-row work in JavaScript.
import { toDuckDbType, type StructType } from '../delta/index.js';
import { quoteIdent, quoteLiteral } from '../delta/schema/duckdb-types.js';

const EPOCH_MICROS = new Set(['started_at', 'finished_at']);

/**
 * `files` are absolute NDJSON paths; `maxLineBytes` bounds one line (a result holds a
 * response body of up to max_response_bytes, which JSON escaping can grow).
 */
export function spoolSelectSql(schema: StructType, files: readonly string[], maxLineBytes: number): string {
  const columns: string[] = [];
  const select: string[] = [];
  for (const f of schema.fields) {
    const id = quoteIdent(f.name);
    const target = toDuckDbType(f.type);
    if (EPOCH_MICROS.has(f.name)) {
      // Workers send epoch microseconds; make_timestamp keeps all six digits.
      columns.push(`${quoteLiteral(f.name)}: 'BIGINT'`);
      select.push(`CAST(make_timestamp(${id}) AS ${target}) AS ${id}`);
    } else if (target === 'BLOB') {
      columns.push(`${quoteLiteral(f.name)}: 'VARCHAR'`);
      select.push(`CAST(${id} AS BLOB) AS ${id}`);
    } else {
      columns.push(`${quoteLiteral(f.name)}: ${quoteLiteral(target)}`);
      select.push(id);
    }
  }
  const fileList = '[' + files.map(quoteLiteral).join(', ') + ']';
  return (
    `SELECT ${select.join(', ')} FROM read_json(${fileList}, format = 'newline_delimited', ` +
    `columns = {${columns.join(', ')}}, maximum_object_size = ${Math.ceil(maxLineBytes) + 1024})`
  );
}
