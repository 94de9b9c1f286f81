// Delta <-> DuckDB type mapping. `timestamp` is instant semantics (TIMESTAMPTZ, written by DuckDB as
// INT64 TIMESTAMP_MICROS isAdjustedToUTC=true); `timestamp_ntz` is wall-clock (TIMESTAMP, isAdjustedToUTC=false).
import { DeltaError } from '../errors.js';
import { type DeltaType, type StructField, type StructType, parseDecimal } from './types.js';

const TO_DUCK: Record<string, string> = {
  string: 'VARCHAR', long: 'BIGINT', integer: 'INTEGER', short: 'SMALLINT', byte: 'TINYINT', float: 'FLOAT', double: 'DOUBLE',
  boolean: 'BOOLEAN', binary: 'BLOB', date: 'DATE', timestamp: 'TIMESTAMP WITH TIME ZONE', timestamp_ntz: 'TIMESTAMP',
};

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function quoteLiteral(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

export function toDuckDbType(t: DeltaType): string {
  if (typeof t === 'string') {
    const simple = TO_DUCK[t];
    if (simple) return simple;
    const dec = parseDecimal(t);
    if (dec) return `DECIMAL(${dec.precision},${dec.scale})`;
    throw new DeltaError('DELTA_UNSUPPORTED_FEATURE', `no DuckDB type for Delta type '${t}'`);
  }
  switch (t.type) {
    case 'struct':
      return `STRUCT(${t.fields.map((f) => `${quoteIdent(f.name)} ${toDuckDbType(f.type)}`).join(', ')})`;
    case 'array':
      return `${toDuckDbType(t.elementType)}[]`;
    case 'map':
      return `MAP(${toDuckDbType(t.keyType)}, ${toDuckDbType(t.valueType)})`;
  }
}

const FROM_DUCK: Record<string, DeltaType> = {
  VARCHAR: 'string', TEXT: 'string', STRING: 'string', UUID: 'string', JSON: 'string',
  BIGINT: 'long', INT8: 'long', LONG: 'long', UINTEGER: 'long',
  INTEGER: 'integer', INT4: 'integer', INT: 'integer', USMALLINT: 'integer',
  SMALLINT: 'short', INT2: 'short', UTINYINT: 'short',
  TINYINT: 'byte', INT1: 'byte',
  FLOAT: 'float', REAL: 'float', FLOAT4: 'float',
  DOUBLE: 'double', FLOAT8: 'double',
  BOOLEAN: 'boolean', BOOL: 'boolean',
  BLOB: 'binary', BYTEA: 'binary', VARBINARY: 'binary',
  DATE: 'date',
  'TIMESTAMP WITH TIME ZONE': 'timestamp', TIMESTAMPTZ: 'timestamp',
  TIMESTAMP: 'timestamp_ntz', DATETIME: 'timestamp_ntz', TIMESTAMP_S: 'timestamp_ntz', TIMESTAMP_MS: 'timestamp_ntz', TIMESTAMP_NS: 'timestamp_ntz',
  HUGEINT: 'decimal(38,0)', UHUGEINT: 'decimal(38,0)', UBIGINT: 'decimal(20,0)',
};

/** Parses a DuckDB type string (as DESCRIBE prints it) into a Delta type. */
export function fromDuckDbType(duckType: string): DeltaType {
  const p = new TypeParser(duckType);
  const t = p.parseType();
  p.expectEnd();
  return t;
}

/** A struct schema from DESCRIBE rows; every column nullable. */
export function schemaFromDuckColumns(cols: { name: string; type: string }[]): StructType {
  return { type: 'struct', fields: cols.map((c) => ({ name: c.name, type: fromDuckDbType(c.type), nullable: true, metadata: {} })) };
}

class TypeParser {
  private i = 0;
  constructor(private readonly s: string) {}

  parseType(): DeltaType {
    let t = this.parseBase();
    // Postfix list markers: INTEGER[] or INTEGER[3]
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '[') break;
      const close = this.s.indexOf(']', this.i);
      if (close < 0) this.fail('unclosed [');
      this.i = close + 1;
      t = { type: 'array', elementType: t, containsNull: true };
    }
    return t;
  }

  expectEnd(): void {
    this.ws();
    if (this.i !== this.s.length) this.fail('trailing text');
  }

  private parseBase(): DeltaType {
    this.ws();
    const word = this.word().toUpperCase();
    if (word === 'STRUCT') {
      this.eat('(');
      const fields: StructField[] = [];
      for (;;) {
        this.ws();
        const name = this.ident();
        const type = this.parseType();
        fields.push({ name, type, nullable: true, metadata: {} });
        this.ws();
        if (this.s[this.i] === ',') { this.i++; continue; }
        this.eat(')');
        break;
      }
      return { type: 'struct', fields };
    }
    if (word === 'MAP') {
      this.eat('(');
      const keyType = this.parseType();
      this.eat(',');
      const valueType = this.parseType();
      this.eat(')');
      return { type: 'map', keyType, valueType, valueContainsNull: true };
    }
    if (word === 'DECIMAL' || word === 'NUMERIC') {
      this.ws();
      if (this.s[this.i] !== '(') return 'decimal(18,3)';
      this.eat('(');
      const p = Number(this.word());
      this.eat(',');
      const sc = Number(this.word());
      this.eat(')');
      return `decimal(${p},${sc})`;
    }
    let full = word;
    // Multi-word names: TIMESTAMP WITH TIME ZONE
    if (word === 'TIMESTAMP' && /^\s+WITH\s+TIME\s+ZONE/i.test(this.s.slice(this.i))) {
      this.i += /^\s+WITH\s+TIME\s+ZONE/i.exec(this.s.slice(this.i))![0].length;
      full = 'TIMESTAMP WITH TIME ZONE';
    }
    const t = FROM_DUCK[full];
    if (!t) throw new DeltaError('DELTA_UNSUPPORTED_FEATURE', `DuckDB type ${full} has no Delta equivalent (in '${this.s}')`);
    return t;
  }

  private ws(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i])) this.i++;
  }
  private word(): string {
    this.ws();
    const m = /^[A-Za-z0-9_]+/.exec(this.s.slice(this.i));
    if (!m) this.fail('expected a word');
    this.i += m![0].length;
    return m![0];
  }
  private ident(): string {
    this.ws();
    if (this.s[this.i] === '"') {
      let out = '';
      this.i++;
      for (;;) {
        if (this.i >= this.s.length) this.fail('unclosed quoted identifier');
        const ch = this.s[this.i++];
        if (ch === '"') {
          if (this.s[this.i] === '"') { out += '"'; this.i++; continue; }
          return out;
        }
        out += ch;
      }
    }
    return this.word();
  }
  private eat(ch: string): void {
    this.ws();
    if (this.s[this.i] !== ch) this.fail(`expected '${ch}'`);
    this.i++;
  }
  private fail(why: string): never {
    throw new DeltaError('DELTA_INVALID_ARGUMENT', `cannot parse DuckDB type '${this.s}': ${why} at ${this.i}`);
  }
}
