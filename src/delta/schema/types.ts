// The Delta schema model: exactly Spark's JSON schema representation (PROTOCOL.md "Schema Serialization Format"),
// so a parsed schemaString round-trips unchanged.

export type PrimitiveType =
  | 'string' | 'long' | 'integer' | 'short' | 'byte' | 'float' | 'double' | 'boolean' | 'binary'
  | 'date' | 'timestamp' | 'timestamp_ntz' | `decimal(${number},${number})`;

export type DeltaType = PrimitiveType | StructType | ArrayType | MapType;

export interface StructField {
  name: string;
  type: DeltaType;
  nullable: boolean;
  metadata: Record<string, unknown>;
}
export interface StructType { type: 'struct'; fields: StructField[] }
export interface ArrayType { type: 'array'; elementType: DeltaType; containsNull: boolean }
export interface MapType { type: 'map'; keyType: DeltaType; valueType: DeltaType; valueContainsNull: boolean }

export function isStruct(t: DeltaType): t is StructType {
  return typeof t === 'object' && t.type === 'struct';
}
export function isArray(t: DeltaType): t is ArrayType {
  return typeof t === 'object' && t.type === 'array';
}
export function isMap(t: DeltaType): t is MapType {
  return typeof t === 'object' && t.type === 'map';
}
export function isPrimitive(t: DeltaType): t is PrimitiveType {
  return typeof t === 'string';
}

const DECIMAL_RE = /^decimal\(\s*(\d+)\s*,\s*(-?\d+)\s*\)$/;

export function parseDecimal(t: string): { precision: number; scale: number } | null {
  const m = DECIMAL_RE.exec(t);
  return m ? { precision: Number(m[1]), scale: Number(m[2]) } : null;
}
