// Which protocol versions and table features this implementation can read and write (PROTOCOL.md "Table Features").
import { DeltaError } from '../errors.js';
import type { Metadata, Protocol } from './actions.js';
import type { StructType, DeltaType } from '../schema/types.js';

export const SUPPORTED_READER_FEATURES: ReadonlySet<string> = new Set([
  'deletionVectors', 'columnMapping', 'timestampNtz', 'v2Checkpoint', 'vacuumProtocolCheck', 'typeWidening', 'typeWidening-preview',
]);

/**
 * Writer features we can honour when appending/overwriting/compacting. Features whose rules depend on
 * table content (appendOnly, invariants, checkConstraints, generatedColumns, changeDataFeed, columnMapping)
 * are further checked in `assertWritable` against the metadata.
 */
export const SUPPORTED_WRITER_FEATURES: ReadonlySet<string> = new Set([
  'appendOnly', 'invariants', 'checkConstraints', 'generatedColumns', 'changeDataFeed', 'columnMapping', 'timestampNtz',
  'deletionVectors', 'vacuumProtocolCheck', 'v2Checkpoint', 'domainMetadata', 'typeWidening', 'typeWidening-preview',
  'inCommitTimestamp',
]);

/** In-commit timestamps are on (PROTOCOL.md "In-Commit Timestamps"); the property is read as Spark does, case-insensitively. */
export function inCommitTimestampsEnabled(m: Pick<Metadata, 'configuration'>): boolean {
  return m.configuration?.['delta.enableInCommitTimestamps']?.toLowerCase() === 'true';
}

export function assertReadable(p: Protocol, table: string): void {
  if (p.minReaderVersion > 3) {
    throw new DeltaError('DELTA_UNSUPPORTED_FEATURE', `table ${table} requires Delta reader version ${p.minReaderVersion}; restlake reads up to 3`);
  }
  if (p.minReaderVersion === 3) {
    for (const f of p.readerFeatures ?? []) {
      if (!SUPPORTED_READER_FEATURES.has(f)) {
        throw new DeltaError('DELTA_UNSUPPORTED_FEATURE', `table ${table} uses the Delta reader feature '${f}', which restlake does not support`);
      }
    }
  }
}

/** Whether the column-mapping table property is to be honoured (PROTOCOL.md "Column Mapping"). */
export function columnMappingMode(p: Protocol, m: Metadata): 'none' | 'name' | 'id' {
  const enabled = p.minReaderVersion === 2 || (p.minReaderVersion === 3 && (p.readerFeatures ?? []).includes('columnMapping'));
  if (!enabled) return 'none';
  const mode = m.configuration?.['delta.columnMapping.mode'] ?? 'none';
  if (mode === 'none' || mode === 'name' || mode === 'id') return mode;
  throw new DeltaError('DELTA_UNSUPPORTED_FEATURE', `unknown delta.columnMapping.mode '${mode}'`);
}

/**
 * The protocol half of the writer check (PROTOCOL.md "Table Features": to write, a writer must implement
 * every writer feature, and every reader feature). Anything that writes to _delta_log - commits and
 * checkpoints alike - passes it: a checkpoint of a table with, say, rowTracking or clustering must carry
 * feature-specific state we do not maintain. `action` completes "cannot <action> <table>"; every
 * unsupported feature is named, so one error tells the user all that stands in the way.
 */
export function assertWriterProtocol(p: Protocol, table: string, action = 'write to'): void {
  assertReadable(p, table);
  const refuse = (what: string): never => {
    throw new DeltaError('DELTA_UNSUPPORTED_FEATURE', `cannot ${action} ${table}: ${what}`);
  };
  if (p.minWriterVersion > 7) refuse(`Delta writer version ${p.minWriterVersion} is not supported`);
  if (p.minWriterVersion === 7) {
    const unsupported = (p.writerFeatures ?? []).filter((f) => !SUPPORTED_WRITER_FEATURES.has(f));
    if (unsupported.length === 1) refuse(`the Delta writer feature '${unsupported[0]}' is not supported`);
    if (unsupported.length > 1) refuse(`the Delta writer features ${unsupported.map((f) => `'${f}'`).join(', ')} are not supported`);
  }
}

/** Refuses writes to tables whose writer requirements restlake cannot meet; `removes` = the commit removes data. */
export function assertWritable(p: Protocol, m: Metadata, schema: StructType, table: string, opts: { removesData: boolean }): void {
  const refuse = (what: string): never => {
    throw new DeltaError('DELTA_UNSUPPORTED_FEATURE', `cannot write to ${table}: ${what}`);
  };
  assertWriterProtocol(p, table);
  // The rest depends on the table's content: rules we do not implement, refused where they are in force.
  const cfg = m.configuration ?? {};
  if (opts.removesData && cfg['delta.appendOnly'] === 'true') refuse('the table is append-only (delta.appendOnly=true)');
  if (p.minWriterVersion >= 3 && Object.keys(cfg).some((k) => k.startsWith('delta.constraints.'))) refuse('the table has CHECK constraints (checkConstraints)');
  if (p.minWriterVersion >= 4 && cfg['delta.enableChangeDataFeed'] === 'true') refuse('change data feed is enabled (changeDataFeed)');
  if (columnMappingMode(p, m) !== 'none') refuse(`column mapping mode '${cfg['delta.columnMapping.mode']}' is not supported for writing`);
  const meta = allFieldMetadataKeys(schema);
  if (meta.has('delta.invariants')) refuse('a column has invariants (delta.invariants)');
  if (meta.has('delta.generationExpression')) refuse('the table has generated columns (generatedColumns)');
  if ([...meta].some((k) => k.startsWith('delta.identity.'))) refuse('the table has identity columns (identityColumns)');
}

function allFieldMetadataKeys(t: DeltaType, out = new Set<string>()): Set<string> {
  if (typeof t === 'string') return out;
  if (t.type === 'struct') {
    for (const f of t.fields) {
      for (const k of Object.keys(f.metadata ?? {})) out.add(k);
      allFieldMetadataKeys(f.type, out);
    }
  } else if (t.type === 'array') allFieldMetadataKeys(t.elementType, out);
  else allFieldMetadataKeys(t.keyType, out), allFieldMetadataKeys(t.valueType, out);
  return out;
}
