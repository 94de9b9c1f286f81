// Rows given in memory (runPipeline's `rows`) instead of a `source`: the same batches
// as a file source, with request_id computed in JS by the same rule.
import type { DuckDBConnection } from '@duckdb/node-api';
import type { PipelineConfig } from '../config/types.js';
import { quoteLiteral } from '../delta/schema/duckdb-types.js';
import { REQUEST_ID_FIELD, requestIdOf } from '../request/request-id.js';
import type { Row } from '../request/types.js';
import type { RowStream, SourceBatch } from './stream.js';

const BATCH = 2048;

function toJsonLine(row: Row, requestId: string): string {
  const o = { ...row, [REQUEST_ID_FIELD]: requestId };
  try {
    return JSON.stringify(o);
  } catch {
    // bigint (and other non-JSON values) as their string form
    return JSON.stringify(o, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  }
}

/** Reads up to `n` rows ahead so the sink schema can be inferred from real values. */
export async function peekRows(rows: Iterable<Row> | AsyncIterable<Row>, n: number): Promise<{ head: Row[]; rest: AsyncIterator<Row> }> {
  const it: AsyncIterator<Row> =
    Symbol.asyncIterator in rows ? (rows as AsyncIterable<Row>)[Symbol.asyncIterator]() : toAsync((rows as Iterable<Row>)[Symbol.iterator]());
  const head: Row[] = [];
  while (head.length < n) {
    const r = await it.next();
    if (r.done) return { head, rest: emptyIterator() };
    head.push(r.value);
  }
  return { head, rest: it };
}

function toAsync<T>(it: Iterator<T>): AsyncIterator<T> {
  return { next: async () => it.next() };
}
function emptyIterator<T>(): AsyncIterator<T> {
  return { next: async () => ({ done: true, value: undefined }) };
}

export function memoryRowStream(
  conn: DuckDBConnection,
  config: PipelineConfig,
  head: Row[],
  rest: AsyncIterator<Row>,
  succeeded: string | null,
  keyOverride?: string[],
): RowStream {
  const key = keyOverride ?? config.source?.key ?? null;
  const seen = new Set<string>();
  let duplicates = 0;

  async function* raw(): AsyncGenerator<Row> {
    yield* head;
    for (;;) {
      const r = await rest.next();
      if (r.done) return;
      yield r.value;
    }
  }

  async function filterSucceeded(ids: string[]): Promise<Set<string>> {
    if (!succeeded || ids.length === 0) return new Set();
    const r = await conn.runAndReadAll(`SELECT request_id FROM ${succeeded} WHERE request_id IN (${ids.map(quoteLiteral).join(', ')})`);
    return new Set((r.getRowObjectsJson() as { request_id: string }[]).map((x) => x.request_id));
  }

  return {
    get duplicates() {
      return duplicates;
    },
    pending: null,
    async *batches(): AsyncGenerator<SourceBatch> {
      let ids: string[] = [];
      let lines: string[] = [];
      const flush = async (): Promise<SourceBatch | null> => {
        const done = await filterSucceeded(ids);
        const batch: SourceBatch = { ids: [], lines: [] };
        ids.forEach((id, i) => {
          if (!done.has(id)) {
            batch.ids.push(id);
            batch.lines.push(lines[i] as string);
          }
        });
        ids = [];
        lines = [];
        return batch.ids.length > 0 ? batch : null;
      };
      for await (const row of raw()) {
        const keys = key ?? Object.keys(row).filter((k) => k !== REQUEST_ID_FIELD);
        const id = requestIdOf(config.name, keys.map((k) => row[k]));
        if (seen.has(id)) {
          duplicates++;
          continue;
        }
        seen.add(id);
        ids.push(id);
        lines.push(toJsonLine(row, id));
        if (ids.length >= BATCH) {
          const b = await flush();
          if (b) yield b;
        }
      }
      const b = await flush();
      if (b) yield b;
    },
  };
}
