// Type widening (PROTOCOL.md "Type Widening"): readers must fail on any recorded type change they do not
// support. We support every change the spec lists, since old files are read with their own types and cast.
import { DeltaError } from '../errors.js';
import type { DeltaType } from './types.js';
import { parseDecimal } from './types.js';

const INTEGERS = ['byte', 'short', 'integer', 'long'];

function isSupportedChange(from: string, to: string): boolean {
  if (INTEGERS.includes(from) && INTEGERS.includes(to)) return INTEGERS.indexOf(from) < INTEGERS.indexOf(to);
  if (from === 'float' && to === 'double') return true;
  if (['byte', 'short', 'integer'].includes(from) && to === 'double') return true;
  if (from === 'date' && to === 'timestamp_ntz') return true;
  const t = parseDecimal(to);
  if (!t) return false;
  const f = parseDecimal(from);
  if (f) {
    const k1 = t.precision - f.precision;
    const k2 = t.scale - f.scale;
    return k1 >= k2 && k2 >= 0;
  }
  const base = ['byte', 'short', 'integer'].includes(from) ? 10 : from === 'long' ? 20 : null;
  if (base === null) return false;
  const k1 = t.precision - base;
  const k2 = t.scale;
  return k1 >= k2 && k2 >= 0;
}

const norm = (t: unknown): string => String(t).replace(/\s+/g, '');

/** Throws DELTA_UNSUPPORTED_FEATURE naming the column when a recorded type change is not one the spec allows. */
export function assertTypeChangesSupported(t: DeltaType, where = ''): void {
  if (typeof t === 'string') return;
  if (t.type === 'array') return assertTypeChangesSupported(t.elementType, `${where}.element`);
  if (t.type === 'map') {
    assertTypeChangesSupported(t.keyType, `${where}.key`);
    return assertTypeChangesSupported(t.valueType, `${where}.value`);
  }
  for (const f of t.fields) {
    const path = where ? `${where}.${f.name}` : f.name;
    const changes = f.metadata?.['delta.typeChanges'];
    if (Array.isArray(changes)) {
      for (const c of changes as { fromType?: unknown; toType?: unknown; fieldPath?: unknown }[]) {
        if (!isSupportedChange(norm(c.fromType), norm(c.toType))) {
          const at = c.fieldPath ? `${path}.${String(c.fieldPath)}` : path;
          throw new DeltaError('DELTA_UNSUPPORTED_FEATURE', `column ${at} changed type from ${String(c.fromType)} to ${String(c.toType)}, a type change restlake cannot read (typeWidening)`);
        }
      }
    }
    assertTypeChangesSupported(f.type, path);
  }
}
