// Schema rules for writes: an append must have the table's types for the columns it has; table columns
// the data lacks must be nullable (they are written as nulls, as Spark's and delta-rs's appends do), and
// only mergeSchema may add new (nullable) columns. Types compare without metadata/nullability.
import { DeltaError } from '../errors.js';
import type { DeltaType, StructField, StructType } from '../schema/types.js';

/** DELTA_SCHEMA_MISMATCH with the list of differences, for callers that word it their own way. */
export class SchemaMismatchError extends DeltaError {
  constructor(where: string, readonly problems: string[], mergeSchema: boolean) {
    super('DELTA_SCHEMA_MISMATCH', `schema of the data does not match ${where}: ${problems.join('; ')}${mergeSchema ? '' : ' (mergeSchema adds new columns)'}`);
  }
}

function shape(t: DeltaType): unknown {
  if (typeof t === 'string') return t;
  if (t.type === 'struct') return { s: t.fields.map((f) => [f.name.toLowerCase(), shape(f.type)]) };
  if (t.type === 'array') return { a: shape(t.elementType) };
  return { m: [shape(t.keyType), shape(t.valueType)] };
}
export function sameType(a: DeltaType, b: DeltaType): boolean {
  return JSON.stringify(shape(a)) === JSON.stringify(shape(b));
}
function typeName(t: DeltaType): string {
  return typeof t === 'string' ? t : JSON.stringify(shape(t));
}

/** The schema to write with (table order, then new columns), or DELTA_SCHEMA_MISMATCH naming the columns. */
export function reconcileSchema(table: StructType, incoming: StructType, mergeSchema: boolean, where: string): { schema: StructType; added: StructField[] } {
  const inc = new Map(incoming.fields.map((f) => [f.name.toLowerCase(), f]));
  const tab = new Map(table.fields.map((f) => [f.name.toLowerCase(), f]));
  const missing = table.fields.filter((f) => !inc.has(f.name.toLowerCase()));
  const extra = incoming.fields.filter((f) => !tab.has(f.name.toLowerCase()));
  const wrongType = table.fields
    .filter((f) => inc.has(f.name.toLowerCase()) && !sameType(f.type, inc.get(f.name.toLowerCase())!.type))
    .map((f) => `${f.name} (table: ${typeName(f.type)}, data: ${typeName(inc.get(f.name.toLowerCase())!.type)})`);
  const problems: string[] = [];
  if (wrongType.length) problems.push(`different types: ${wrongType.join(', ')}`);
  if (!mergeSchema && extra.length) problems.push(`columns not in the table: ${extra.map((f) => f.name).join(', ')}`);
  // Another writer may have added nullable columns (delta-rs schema_mode=merge, Spark mergeSchema):
  // rows without them read as null there, so a write that lacks them still fits the table.
  const notNull = missing.filter((f) => !f.nullable);
  if (notNull.length) problems.push(`non-nullable table columns missing from the data: ${notNull.map((f) => f.name).join(', ')}`);
  if (problems.length) throw new SchemaMismatchError(where, problems, mergeSchema);
  const added = extra.map((f) => ({ ...f, nullable: true, metadata: f.metadata ?? {} }));
  return { schema: { type: 'struct', fields: [...table.fields, ...added] }, added };
}

export function containsType(t: DeltaType, prim: string): boolean {
  if (typeof t === 'string') return t === prim;
  if (t.type === 'struct') return t.fields.some((f) => containsType(f.type, prim));
  if (t.type === 'array') return containsType(t.elementType, prim);
  return containsType(t.keyType, prim) || containsType(t.valueType, prim);
}
