// Public API of the Delta Lake protocol layer. Everything else in src/delta is internal.
export type { Storage, FileInfo, ListOptions } from './storage/types.js';
export { isS3Uri, openStorage, registerStorageScheme } from './storage/open.js';
export { LocalStorage } from './storage/local.js';
export type { DeltaType, PrimitiveType, StructField, StructType, ArrayType, MapType } from './schema/types.js';
export { parseSchemaString, schemaToJson } from './schema/json.js';
export { toDuckDbType, fromDuckDbType, schemaFromDuckColumns, quoteIdent, quoteLiteral } from './schema/duckdb-types.js';
export { DeltaError } from './errors.js';
export { DeltaTable } from './table.js';
export type { Snapshot, SnapshotOptions } from './log/snapshot.js';
export type {
  Action, AddFile, RemoveFile, Metadata, Protocol, Txn, CommitInfo, DeletionVectorDescriptor, DomainMetadata,
} from './log/actions.js';
export type { WriteObserver, WriteOptions, WriteResult } from './write/write.js';
export { DEFAULT_ROW_GROUP_ROWS } from './write/files.js';
export { SchemaMismatchError } from './write/schema-check.js';
export { TableGoneError } from './write/write.js';
export type { CompactOptions, CompactResult } from './maintenance/compact.js';
export type { VacuumOptions } from './maintenance/vacuum.js';
export { SUPPORTED_READER_FEATURES } from './log/features.js';
