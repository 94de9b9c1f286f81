// Parse and print Spark's JSON schema (metaData.schemaString). Parsing validates as it goes so a bad
// schemaString fails with a message naming the column, not later with an undefined access.
import { DeltaError } from '../errors.js';
import { type DeltaType, type StructField, type StructType, parseDecimal } from './types.js';

const PRIMITIVES = new Set([
  'string', 'long', 'integer', 'short', 'byte', 'float', 'double', 'boolean', 'binary', 'date', 'timestamp', 'timestamp_ntz',
]);

export function parseSchemaString(schemaString: string): StructType {
  let raw: unknown;
  try {
    raw = JSON.parse(schemaString);
  } catch (e) {
    throw new DeltaError('DELTA_CORRUPT_LOG', `metaData.schemaString is not valid JSON: ${(e as Error).message}`);
  }
  const t = parseType(raw, '(root)');
  if (typeof t !== 'object' || t.type !== 'struct') throw new DeltaError('DELTA_CORRUPT_LOG', 'metaData.schemaString is not a struct');
  return t;
}

export function parseType(raw: unknown, where: string): DeltaType {
  if (typeof raw === 'string') {
    if (PRIMITIVES.has(raw)) return raw as DeltaType;
    const dec = parseDecimal(raw);
    if (dec) return `decimal(${dec.precision},${dec.scale})`;
    // variant, void, char/varchar, interval...: a type we cannot represent is a feature we refuse.
    throw new DeltaError('DELTA_UNSUPPORTED_FEATURE', `unsupported Delta data type '${raw}' at column ${where}`);
  }
  if (raw && typeof raw === 'object') {
    const o = raw as Record<string, unknown>;
    switch (o.type) {
      case 'struct': {
        if (!Array.isArray(o.fields)) throw new DeltaError('DELTA_CORRUPT_LOG', `struct without fields at ${where}`);
        return {
          type: 'struct',
          fields: o.fields.map((f: Record<string, unknown>): StructField => {
            if (typeof f?.name !== 'string') throw new DeltaError('DELTA_CORRUPT_LOG', `struct field without a name at ${where}`);
            const path = where === '(root)' ? f.name : `${where}.${f.name}`;
            return {
              name: f.name,
              type: parseType(f.type, path),
              nullable: f.nullable !== false,
              metadata: (f.metadata && typeof f.metadata === 'object' ? f.metadata : {}) as Record<string, unknown>,
            };
          }),
        };
      }
      case 'array':
        return { type: 'array', elementType: parseType(o.elementType, `${where}.element`), containsNull: o.containsNull !== false };
      case 'map':
        return {
          type: 'map',
          keyType: parseType(o.keyType, `${where}.key`),
          valueType: parseType(o.valueType, `${where}.value`),
          valueContainsNull: o.valueContainsNull !== false,
        };
    }
  }
  throw new DeltaError('DELTA_CORRUPT_LOG', `unrecognised type ${JSON.stringify(raw)} at column ${where}`);
}

/** Spark's exact layout: key order type/fields, name/type/nullable/metadata. */
export function schemaToJson(s: StructType): string {
  return JSON.stringify(typeToJson(s));
}

function typeToJson(t: DeltaType): unknown {
  if (typeof t === 'string') return t;
  switch (t.type) {
    case 'struct':
      return { type: 'struct', fields: t.fields.map((f) => ({ name: f.name, type: typeToJson(f.type), nullable: f.nullable, metadata: f.metadata ?? {} })) };
    case 'array':
      return { type: 'array', elementType: typeToJson(t.elementType), containsNull: t.containsNull };
    case 'map':
      return { type: 'map', keyType: typeToJson(t.keyType), valueType: typeToJson(t.valueType), valueContainsNull: t.valueContainsNull };
  }
}
