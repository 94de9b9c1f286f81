// Column mapping `id` mode: top-level columns are resolved by Parquet field_id (PROTOCOL.md "Reader
// Requirements for Column Mapping"). Reads each file's footer schema and maps id -> the file's column name.
import type { DuckDBConnection } from '@duckdb/node-api';
import { DeltaError } from '../errors.js';
import { queryJson } from '../duck.js';
import { quoteLiteral } from '../schema/duckdb-types.js';

export async function fieldIdNames(conn: DuckDBConnection, files: string[]): Promise<Map<number, string>> {
  const rows = await queryJson(
    conn,
    `SELECT file_name, name, field_id, num_children FROM parquet_schema([${files.map(quoteLiteral).join(', ')}])`,
  );
  const byFile = new Map<string, { name: string; fieldId: number | null; children: number }[]>();
  for (const r of rows) {
    const list = byFile.get(String(r.file_name)) ?? [];
    list.push({ name: String(r.name), fieldId: r.field_id === null ? null : Number(r.field_id), children: r.num_children === null ? 0 : Number(r.num_children) });
    byFile.set(String(r.file_name), list);
  }
  const out = new Map<number, string>();
  for (const [file, nodes] of byFile) {
    // nodes are the schema tree in depth-first order; nodes[0] is the root.
    let i = 1;
    const skip = (): void => {
      const n = nodes[i++];
      for (let c = 0; c < n.children; c++) skip();
    };
    let sawId = false;
    for (let c = 0; c < nodes[0].children; c++) {
      const n = nodes[i];
      if (n.fieldId !== null) {
        sawId = true;
        const prev = out.get(n.fieldId);
        if (prev !== undefined && prev !== n.name) {
          throw new DeltaError('DELTA_UNSUPPORTED_FEATURE', `column mapping id mode: field id ${n.fieldId} is named '${prev}' in one file and '${n.name}' in ${file}`);
        }
        out.set(n.fieldId, n.name);
      }
      skip();
    }
    if (!sawId) throw new DeltaError('DELTA_UNSUPPORTED_FEATURE', `column mapping id mode: data file ${file} has no Parquet field ids`);
  }
  return out;
}
