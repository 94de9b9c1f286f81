// DuckDB column types (as DESCRIBE spells them) to the Delta types of the sink.
import { fromDuckDbType, type DeltaType } from '../delta/index.js';

// Delta's `timestamp` is UTC-adjusted; a naive source timestamp is taken as UTC so the
// sink stays at protocol 1/2 (timestamp_ntz would need a table feature).
function widenNaiveTimestamps(t: DeltaType): DeltaType {
  if (t === 'timestamp_ntz') return 'timestamp';
  if (typeof t === 'string') return t;
  switch (t.type) {
    case 'struct':
      return { ...t, fields: t.fields.map((f) => ({ ...f, type: widenNaiveTimestamps(f.type) })) };
    case 'array':
      return { ...t, elementType: widenNaiveTimestamps(t.elementType) };
    case 'map':
      return { ...t, keyType: widenNaiveTimestamps(t.keyType), valueType: widenNaiveTimestamps(t.valueType) };
  }
}

/** The Delta type a source column lands as; types Delta cannot hold (intervals, enums, …) land as their JSON text. */
export function deltaTypeOfDuckDb(duckType: string): DeltaType {
  try {
    return widenNaiveTimestamps(fromDuckDbType(duckType));
  } catch {
    return 'string';
  }
}
